// Tests of nn/residual.hpp: torchvision's child names per shortcut option, the plain twin having no shortcut
// parameters, forward = relu(residual + shortcut) for each shortcut kind, zero_init_residual, Bottleneck's
// expansion, and the options check.

#include <catch2/catch.hpp>

#include "support/random_tensor.hpp"
#include "strata/nn/residual.hpp"

using namespace strata;
using namespace strata::nn;
using strata::test::normal_tensor;

namespace {
std::vector<std::string> parameter_names(Module<double>& m) {
    std::vector<std::string> out;
    for (auto& np : m.named_parameters()) out.push_back(np.name);
    return out;
}
}  // namespace

TEST_CASE("BasicBlock's children follow torchvision and the shortcut option", "[nn][residual]") {
    BasicBlock<double> proj(BlockOptions(4, 8).stride(2));
    CHECK(parameter_names(proj) == std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
                                                            "bn2.weight", "bn2.bias", "downsample.0.weight",
                                                            "downsample.1.weight", "downsample.1.bias"});
    CHECK(proj.named_parameters()[0].parameter->shape() == Shape{8, 4, 3, 3});
    CHECK(proj.downsample() != nullptr);
    BasicBlock<double> same(BlockOptions(8, 8));  // projection only where the shape changes
    CHECK(same.downsample() == nullptr);
    BasicBlock<double> always(BlockOptions(8, 8).shortcut(Shortcut::always_projection));
    CHECK(always.downsample() != nullptr);
    BasicBlock<double> plain(BlockOptions(4, 8).stride(2).shortcut(Shortcut::none));
    BasicBlock<double> pad(BlockOptions(4, 8).stride(2).shortcut(Shortcut::zero_pad));
    CHECK(plain.parameter_count() == pad.parameter_count());
    CHECK(plain.parameter_count() < proj.parameter_count());
    BasicBlock<double> no_norm(BlockOptions(4, 8).norm(Norm::none).shortcut(Shortcut::none));
    CHECK(parameter_names(no_norm) == std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"});
}

TEST_CASE("A block's output is relu(residual + shortcut) for each shortcut kind", "[nn][residual]") {
    const auto x = normal_tensor(Shape{2, 4, 6, 6}, 1);
    for (Shortcut s : {Shortcut::none, Shortcut::zero_pad, Shortcut::projection}) {
        manual_seed(9);
        BasicBlock<double> blk(BlockOptions(4, 4).shortcut(s));
        blk.eval();
        manual_seed(9);
        BasicBlock<double> plain(BlockOptions(4, 4).shortcut(Shortcut::none));  // same weights: the residual branch
        plain.eval();
        blk.zero_init_residual();
        plain.zero_init_residual();
        Tape tape;
        const Tensor<double> y = blk(tape.constant(x)).to_tensor();
        // With the last BN's gamma zeroed, the branch is 0: the plain block gives relu(0) = 0, and a block with an
        // identity shortcut (same shape, zero_pad or projection) gives relu(x).
        const Tensor<double> p = plain(tape.constant(x)).to_tensor();
        CHECK(p.array().isZero());
        if (s == Shortcut::none)
            CHECK(y.array().isZero());
        else
            CHECK(y.array().isApprox(x.array().max(0.0), 1e-12));
    }
    // Option A on a downsampling block: every second pixel, channels zero-padded half before and half after.
    BasicBlock<double> a(BlockOptions(2, 4).stride(2).shortcut(Shortcut::zero_pad));
    a.eval();
    a.zero_init_residual();
    const auto x2 = normal_tensor(Shape{1, 2, 4, 4}, 2);
    Tape tape;
    const Tensor<double> y = a(tape.constant(x2)).to_tensor();
    REQUIRE(y.shape() == Shape{1, 4, 2, 2});
    for (index_t c = 0; c < 4; ++c)
        for (index_t i = 0; i < 2; ++i)
            for (index_t j = 0; j < 2; ++j) {
                const double in = (c == 1 || c == 2) ? x2[((c - 1) * 4 + 2 * i) * 4 + 2 * j] : 0.0;
                INFO("channel " << c << " at " << i << ", " << j);
                CHECK(y[(c * 2 + i) * 2 + j] == Approx(std::max(0.0, in)).margin(1e-12));
            }
}

TEST_CASE("Bottleneck expands by 4 and projects where the shape changes", "[nn][residual]") {
    Bottleneck<double> b(BlockOptions(16, 8).stride(2));
    CHECK(b.out_channels() == 32);
    CHECK(b.downsample() != nullptr);
    const auto names = parameter_names(b);
    CHECK(names.front() == "conv1.weight");
    CHECK(b.named_parameters()[6].parameter->shape() == Shape{32, 8, 1, 1});  // conv3
    Tape tape;
    const auto x = normal_tensor(Shape{1, 16, 8, 8}, 3);
    CHECK(b(tape.constant(x)).shape() == Shape{1, 32, 4, 4});
    Bottleneck<double> same(BlockOptions(32, 8));
    CHECK(same.downsample() == nullptr);
}

TEST_CASE("Residual blocks name bad options and wrong input channels", "[nn][residual]") {
    CHECK_THROWS_WITH(BasicBlock<float>(BlockOptions(0, 8)), Catch::Contains("in 0, channels 8, stride 1"));
    CHECK_THROWS_WITH(Bottleneck<float>(BlockOptions(4, 8).stride(0)), Catch::Contains("stride 0"));
    BasicBlock<float> blk(BlockOptions(4, 4));
    Tape tape;
    Tensor<float> wrong(Shape{1, 3, 5, 5});
    CHECK_THROWS_AS(blk(tape.constant(wrong)), ShapeError);
}
