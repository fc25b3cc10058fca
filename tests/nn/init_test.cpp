// Tests of nn/init.hpp: fans as PyTorch computes them, Kaiming normal's standard deviation for both modes,
// PyTorch's default uniform bounds, the default generator's manual_seed, and the rank check.

#include <catch2/catch.hpp>

#include <cmath>

#include "strata/nn/init.hpp"

using namespace strata;
using namespace strata::nn;

namespace {
double stddev(const Tensor<double>& t) {
    const double mean = t.array().mean();
    return std::sqrt((t.array() - mean).square().mean());
}
}  // namespace

TEST_CASE("fans match PyTorch's _calculate_fan_in_and_fan_out", "[nn][init]") {
    const init::Fans conv = init::fans(Tensor<double>(Shape{16, 8, 3, 3}));
    CHECK(conv.in == 72.0);
    CHECK(conv.out == 144.0);
    const init::Fans fc = init::fans(Tensor<float>(Shape{10, 20}));
    CHECK(fc.in == 20.0);
    CHECK(fc.out == 10.0);
    CHECK_THROWS_WITH(init::fans(Tensor<float>(Shape{5})), Catch::Contains("rank >= 2") && Catch::Contains("[5]"));
}

TEST_CASE("kaiming_normal draws N(0, 2/fan) for the chosen fan", "[nn][init]") {
    Generator gen(1);
    Tensor<double> w(Shape{64, 32, 3, 3});
    init::kaiming_normal(w, init::FanMode::fan_out, gen);
    CHECK(stddev(w) == Approx(std::sqrt(2.0 / (64 * 9))).epsilon(0.03));
    CHECK(std::abs(w.array().mean()) < 0.01);
    init::kaiming_normal(w, init::FanMode::fan_in, gen);
    CHECK(stddev(w) == Approx(std::sqrt(2.0 / (32 * 9))).epsilon(0.03));
}

TEST_CASE("PyTorch's default weight and bias are uniform within +-1/sqrt(fan_in)", "[nn][init]") {
    Generator gen(2);
    Tensor<double> w(Shape{200, 50});
    init::torch_default_weight(w, gen);
    const double bound = 1.0 / std::sqrt(50.0);
    CHECK(w.array().abs().maxCoeff() <= bound);
    CHECK(w.array().abs().maxCoeff() > 0.99 * bound);
    CHECK(stddev(w) == Approx(bound / std::sqrt(3.0)).epsilon(0.03));  // uniform's sd
    Tensor<double> b(Shape{200});
    init::torch_default_bias(b, 50.0, gen);
    CHECK(b.array().abs().maxCoeff() <= bound);
    init::torch_default_bias(b, 0.0, gen);  // no fan-in: zeros, as PyTorch's bound 0
    CHECK(b.array().isZero());
}

TEST_CASE("manual_seed makes the default generator repeat itself", "[nn][init]") {
    manual_seed(42);
    const std::uint64_t a = default_generator().next_u64();
    manual_seed(42);
    CHECK(default_generator().next_u64() == a);
    manual_seed(43);
    CHECK(default_generator().next_u64() != a);
}
