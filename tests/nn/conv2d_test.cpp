// Tests of nn/conv2d.hpp (the module; the op is tests/ops/conv2d_test.cpp): parameter names and shapes, PyTorch's
// default initialisation bounds, forward equal to conv2d() with the options' stride and padding, and options
// errors naming the values.

#include <catch2/catch.hpp>

#include <cmath>

#include "strata/nn/conv2d.hpp"

using namespace strata;
using namespace strata::nn;

TEST_CASE("Conv2d registers weight [out, in, k, k] and bias [out] within +-1/sqrt(fan_in)", "[nn][conv2d]") {
    manual_seed(11);
    Conv2d<double> conv(Conv2dOptions(3, 8, 5));
    const auto p = conv.named_parameters();
    REQUIRE(p.size() == 2);
    CHECK(p[0].name == "weight");
    CHECK(p[0].parameter->shape() == Shape{8, 3, 5, 5});
    CHECK(p[1].name == "bias");
    CHECK(p[1].parameter->shape() == Shape{8});
    const double bound = 1.0 / std::sqrt(3.0 * 25.0);
    CHECK(conv.weight().value.array().abs().maxCoeff() <= bound);
    CHECK(conv.weight().value.array().abs().maxCoeff() > 0.5 * bound);
    CHECK(conv.bias()->value.array().abs().maxCoeff() <= bound);
    Conv2d<double> no_bias(Conv2dOptions(3, 8, 5).bias(false));
    CHECK(no_bias.bias() == nullptr);
    CHECK(no_bias.named_parameters().size() == 1);
    const Conv2dOptions d(1, 2, 3);
    CHECK(d.stride() == 1);
    CHECK(d.padding() == 0);
    CHECK(d.bias());
}

TEST_CASE("Conv2d forwards conv2d() with its stride and padding", "[nn][conv2d]") {
    Conv2d<double> conv(Conv2dOptions(2, 4, 3).stride(2).padding(1));
    Tensor<double> x(Shape{2, 2, 7, 7});
    Generator g(2);
    x.fill_normal(g);
    Tape tape;
    const Var<double> v = tape.constant(x);
    const Var<double> y = conv(v);
    CHECK(y.shape() == Shape{2, 4, 4, 4});
    const Var<double> expected = conv2d(v, tape.constant(conv.weight().value), tape.constant(conv.bias()->value),
                                        Conv2dParams{2, 1});
    CHECK(y.value().array().isApprox(expected.value().array(), 0.0));
    conv.zero_grad();
    tape.backward(y, Tensor<double>(y.shape(), 1.0).view());
    CHECK(conv.bias()->grad().array().isApprox(Eigen::ArrayXd::Constant(4, 2.0 * 16)));  // N * H_out * W_out
}

TEST_CASE("Conv2d's errors name the bad options and the input shape", "[nn][conv2d]") {
    CHECK_THROWS_WITH(Conv2d<float>(Conv2dOptions(0, 4, 3)), Catch::Contains("in 0, out 4, kernel 3"));
    CHECK_THROWS_WITH(Conv2d<float>(Conv2dOptions(1, 4, 3).stride(0)), Catch::Contains("bad stride 0"));
    CHECK_THROWS_WITH(Conv2d<float>(Conv2dOptions(1, 4, 3).padding(-1)), Catch::Contains("padding -1"));
    Conv2d<float> conv(Conv2dOptions(3, 4, 3));
    Tape tape;
    Tensor<float> wrong(Shape{1, 2, 8, 8});
    CHECK_THROWS_AS(conv(tape.constant(wrong)), ShapeError);
}
