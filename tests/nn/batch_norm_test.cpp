// Tests of nn/batch_norm.hpp: registered names and shapes, training mode (batch statistics, running statistics
// updated with PyTorch's momentum and unbiased variance) against eval mode (running statistics, nothing updated),
// affine/track_running_stats switches, and options errors naming the values.

#include <catch2/catch.hpp>

#include "support/random_tensor.hpp"
#include "strata/nn/batch_norm.hpp"

using namespace strata;
using namespace strata::nn;
using strata::test::normal_tensor;

TEST_CASE("BatchNorm2d registers torchvision's parameter and buffer names", "[nn][batch_norm]") {
    BatchNorm2d<float> bn(BatchNormOptions(6));
    const auto p = bn.named_parameters();
    REQUIRE(p.size() == 2);
    CHECK(p[0].name == "weight");
    CHECK(p[1].name == "bias");
    CHECK(p[0].parameter->value.array().isApprox(Eigen::ArrayXf::Ones(6)));
    CHECK(p[1].parameter->value.array().isZero());
    const auto b = bn.named_buffers();
    REQUIRE(b.size() == 3);
    CHECK(b[0].name == "running_mean");
    CHECK(b[1].name == "running_var");
    CHECK(b[2].name == "num_batches_tracked");
    CHECK(b[0].buffer->shape() == Shape{6});
    CHECK(b[2].buffer->shape() == Shape{});
    BatchNorm2d<float> bare(BatchNormOptions(6).affine(false).track_running_stats(false));
    CHECK(bare.parameters().empty());
    CHECK(bare.named_buffers().empty());
    CHECK(bare.weight() == nullptr);
    CHECK(bare.running_mean() == nullptr);
}

TEST_CASE("BatchNorm2d uses and updates batch statistics in training, running ones in eval", "[nn][batch_norm]") {
    const index_t n = 4, c = 2, hw = 3;
    BatchNorm2d<double> bn(BatchNormOptions(c).momentum(0.25));
    const auto x = normal_tensor(Shape{n, c, hw, hw}, 7, 3.0, 2.0);
    // Per-channel mean and unbiased variance of x.
    std::vector<double> mean(c, 0.0), var(c, 0.0);
    const index_t per = n * hw * hw;
    for (index_t s = 0; s < n; ++s)
        for (index_t ch = 0; ch < c; ++ch)
            for (index_t i = 0; i < hw * hw; ++i) mean[ch] += x[(s * c + ch) * hw * hw + i] / per;
    for (index_t s = 0; s < n; ++s)
        for (index_t ch = 0; ch < c; ++ch)
            for (index_t i = 0; i < hw * hw; ++i) {
                const double d = x[(s * c + ch) * hw * hw + i] - mean[ch];
                var[ch] += d * d / (per - 1);
            }
    Tape tape;
    const Var<double> y = bn(tape.constant(x));
    // Training output: each channel normalised to mean 0 (gamma 1, beta 0).
    for (index_t ch = 0; ch < c; ++ch) {
        double m = 0;
        for (index_t s = 0; s < n; ++s)
            for (index_t i = 0; i < hw * hw; ++i) m += y.value()[(s * c + ch) * hw * hw + i] / per;
        CHECK(m == Approx(0.0).margin(1e-12));
        CHECK((*bn.running_mean())[ch] == Approx(0.25 * mean[ch]).epsilon(1e-12));
        CHECK((*bn.running_var())[ch] == Approx(0.75 + 0.25 * var[ch]).epsilon(1e-12));
    }
    CHECK(bn.named_buffers()[2].buffer->data()[0] == 1.0);
    // Eval: (x - running_mean) / sqrt(running_var + eps), and nothing is updated.
    bn.eval();
    const Tensor<double> rm = Tensor<double>::from(bn.running_mean()->view());
    const Var<double> e = bn(tape.constant(x));
    for (index_t i = 0; i < hw * hw; ++i) {
        const index_t k = c * hw * hw + hw * hw + i;  // sample 1, channel 1
        CHECK(e.value()[k] == Approx((x[k] - rm[1]) / std::sqrt((*bn.running_var())[1] + 1e-5)).epsilon(1e-12));
    }
    CHECK(bn.running_mean()->array().isApprox(rm.array(), 0.0));
    CHECK(bn.named_buffers()[2].buffer->data()[0] == 1.0);
}

TEST_CASE("BatchNorm2d without running statistics normalises with the batch in eval too", "[nn][batch_norm]") {
    BatchNorm2d<double> bn(BatchNormOptions(2).track_running_stats(false));
    const auto x = normal_tensor(Shape{3, 2}, 9, 5.0);
    Tape tape;
    const Tensor<double> train = bn(tape.constant(x)).to_tensor();
    bn.eval();
    const Tensor<double> eval = bn(tape.constant(x)).to_tensor();
    CHECK(train.array().isApprox(eval.array(), 0.0));
}

TEST_CASE("BatchNorm2d's errors name the bad options and shapes", "[nn][batch_norm]") {
    CHECK_THROWS_WITH(BatchNorm2d<float>(BatchNormOptions(0)), Catch::Contains("num_features must be positive, got 0"));
    CHECK_THROWS_WITH(BatchNorm2d<float>(BatchNormOptions(4).momentum(1.5)), Catch::Contains("momentum 1.5"));
    CHECK_THROWS_WITH(BatchNorm2d<float>(BatchNormOptions(4).eps(0)), Catch::Contains("eps 0"));
    BatchNorm2d<float> bn(BatchNormOptions(4));
    Tape tape;
    Tensor<float> wrong(Shape{2, 3, 5, 5});
    CHECK_THROWS_AS(bn(tape.constant(wrong)), ShapeError);
}
