// Tests of nn/linear.hpp: parameter names and shapes, PyTorch's default initialisation bounds, forward equal to
// the functional op, bias(false), and options errors naming the values.

#include <catch2/catch.hpp>

#include <cmath>

#include "strata/nn/linear.hpp"

using namespace strata;
using namespace strata::nn;

TEST_CASE("Linear registers weight [out, in] and bias [out] initialised within +-1/sqrt(in)", "[nn][linear]") {
    manual_seed(3);
    Linear<double> fc(LinearOptions(16, 5));
    const auto named = fc.named_parameters();
    REQUIRE(named.size() == 2);
    CHECK(named[0].name == "weight");
    CHECK(named[0].parameter->shape() == Shape{5, 16});
    CHECK(named[1].name == "bias");
    CHECK(named[1].parameter->shape() == Shape{5});
    const double bound = 1.0 / std::sqrt(16.0);
    CHECK(fc.weight().value.array().abs().maxCoeff() <= bound);
    CHECK(fc.weight().value.array().abs().maxCoeff() > 0.5 * bound);  // uniform over the range, not all small
    CHECK(fc.bias()->value.array().abs().maxCoeff() <= bound);
    CHECK(fc.bias()->value.array().abs().maxCoeff() > 0.0);
    Linear<double> no_bias(LinearOptions(16, 5).bias(false));
    CHECK(no_bias.bias() == nullptr);
    CHECK(no_bias.parameter_count() == 80);
}

TEST_CASE("Linear's forward is linear() on its parameters, and its gradient reaches them", "[nn][linear]") {
    Linear<double> fc(LinearOptions(4, 3));
    Tensor<double> x(Shape{2, 4});
    Generator g(1);
    x.fill_normal(g);
    Tape tape;
    const Var<double> v = tape.constant(x);
    const Var<double> y = fc(v);
    const Var<double> expected = linear(v, tape.constant(fc.weight().value), tape.constant(fc.bias()->value));
    CHECK(y.value().array().isApprox(expected.value().array(), 0.0));
    fc.zero_grad();
    tape.backward(y, Tensor<double>(Shape{2, 3}, 1.0).view());
    // d(sum y)/d bias = N per output; d/d weight[o][i] = sum over the batch of x[:, i].
    CHECK(fc.bias()->grad().array().isApprox(Eigen::ArrayXd::Constant(3, 2.0)));
    for (index_t i = 0; i < 4; ++i) CHECK(fc.weight().grad()[i] == Approx(x[i] + x[4 + i]));
}

TEST_CASE("Linear's errors name the bad sizes", "[nn][linear]") {
    CHECK_THROWS_WITH(Linear<float>(LinearOptions(0, 3)), Catch::Contains("got 0 and 3"));
    CHECK_THROWS_WITH(Linear<float>(LinearOptions(4, -2)), Catch::Contains("got 4 and -2"));
    Linear<float> fc(LinearOptions(4, 3));
    Tape tape;
    Tensor<float> wrong(Shape{2, 5});
    CHECK_THROWS_AS(fc(tape.constant(wrong)), ShapeError);
}
