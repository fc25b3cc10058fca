// The fused inference path of residual blocks and ResNets (evaluation mode under NoGradGuard: each conv with its
// batch-norm, residual add and ReLU in one conv2d_affine) against PyTorch's eval-mode fixtures and against the
// layer-by-layer path; it records nothing on the tape and follows parameter changes (nothing cached).

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "fixture_models.hpp"
#include "strata/models/resnet.hpp"
#include "strata/nn/summary.hpp"
#include "support/module_fixture.hpp"

using namespace strata;
using namespace strata::models;
using strata::test::Fixture;
using strata::test::BlockCase;
using strata::test::kFixtureBlocks;
using strata::test::make_fixture_block;
using strata::test::make_fixture_model;

namespace {

/// Loads the eval fixture `file` into `module` and checks the fused forward (NoGradGuard) against PyTorch's
/// output and against the layer-by-layer eval forward (gradients on).
template <class T>
void check_fused(nn::Module<T>& module, const std::string& file) {
    INFO(file << (std::is_same_v<T, double> ? " in double" : " in float"));
    const Fixture fx(file);
    test::load_module_state(module, fx);
    module.eval();
    const Tensor<T> x = fx.get<T>("input");
    Tape fused_tape, plain_tape;
    Var<T> fused;
    {
        NoGradGuard no_grad(fused_tape);
        fused = module(fused_tape.constant(x));
    }
    CHECK(fused_tape.node_count() == 0);
    const Var<T> plain = module(plain_tape.variable(x));
    CHECK(plain_tape.node_count() > 0);  // the other path really ran
    const double tol = std::is_same_v<T, double> ? 1e-9 : 1e-3;
    CHECK(test::max_rel_diff(fused.value(), fx.get("output")) <= tol);
    CHECK(test::max_rel_diff(fused.value(), plain.value()) <= (std::is_same_v<T, double> ? 1e-12 : 1e-5));
}

}  // namespace

TEST_CASE("Fused eval blocks match PyTorch and the layer-by-layer path", "[models][fused]") {
    for (const BlockCase& c : kFixtureBlocks) {
        check_fused<double>(*make_fixture_block<double>(c), std::string("block_") + c.name + "_eval.txt");
        check_fused<float>(*make_fixture_block<float>(c), std::string("block_") + c.name + "_eval.txt");
    }
}

TEST_CASE("Fused eval ResNet-18 and Plain-18 match PyTorch and the layer-by-layer path", "[models][fused]") {
    for (const char* name : {"resnet18", "plain18"}) {
        check_fused<double>(*make_fixture_model<double>(name), std::string("model_") + name + "_eval.txt");
        check_fused<float>(*make_fixture_model<float>(name), std::string("model_") + name + "_eval.txt");
    }
}

TEST_CASE("The fused path sees parameter and running-statistic changes (nothing is cached)", "[models][fused]") {
    auto net = resnet18<double>(ResNetOptions().in_channels(1).num_classes(10).widths({2, 4, 8, 16}));
    net->eval();
    Tensor<double> x(Shape{3, 1, 20, 20});
    Generator gen(5);
    x.fill_normal(gen);
    auto fused_and_plain = [&] {
        Tape a, b;
        NoGradGuard no_grad(a);
        Tensor<double> f = net->forward(a.constant(x)).to_tensor();
        Tensor<double> p = (*net)(b.variable(x)).to_tensor();
        return std::make_pair(std::move(f), std::move(p));
    };
    const auto before = fused_and_plain();
    CHECK(test::max_rel_diff(before.first, before.second) <= 1e-12);
    // Change every parameter and buffer (as load_state or an optimizer step would), then compare again.
    for (auto& np : net->named_parameters()) np.parameter->value.array() *= 1.1;
    for (auto& nb : net->named_buffers())
        if (nb.name.find("running_var") != std::string::npos) nb.buffer->array() += 0.5;
    const auto after = fused_and_plain();
    CHECK(test::max_rel_diff(after.first, after.second) <= 1e-12);
    CHECK(test::max_rel_diff(after.first, before.first) > 1e-3);
}

TEST_CASE("summary() still lists every layer in evaluation mode", "[models][fused]") {
    auto net = resnet18<float>(ResNetOptions().in_channels(1).num_classes(10));
    const std::string s = nn::summary(*net, Shape{1, 1, 28, 28});
    CHECK(s.find("layer1.0.bn2") != std::string::npos);
    CHECK(s.find("layer4.1.conv2") != std::string::npos);
}

TEST_CASE("A bad input through the fused path names the inner module", "[models][fused]") {
    auto net = resnet18<float>(ResNetOptions().in_channels(1).num_classes(10));
    net->eval();
    Tape tape;
    NoGradGuard no_grad(tape);
    const Tensor<float> x(Shape{1, 3, 28, 28});
    CHECK_THROWS_WITH((*net)(tape.constant(x)), Catch::Contains("conv1") && Catch::Contains("3 channels"));
    nn::BasicBlock<float> block(nn::BlockOptions(4, 4));
    block.eval();
    const Tensor<float> y(Shape{1, 5, 6, 6});
    CHECK_THROWS_WITH(block(tape.constant(y)), Catch::Contains("conv1"));
}
