#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "ops/op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/dropout.hpp"
#include "strata/ops/mul.hpp"
#include "strata/ops/sum.hpp"

using namespace strata;
using strata::test::random_tensor;

TEMPLATE_TEST_CASE("dropout in training zeroes about p of the elements and scales the rest by 1/(1-p)",
                   "[ops][dropout]", float, double) {
    using T = TestType;
    Tape tape;
    const double p = 0.3;
    const T keep = static_cast<T>(1.0 / (1.0 - p));
    const index_t n = 100000;
    const auto x0 = random_tensor<T>({n / 100, 100}, 1);
    Generator gen(42);
    auto y = dropout(tape.constant(x0), p, true, gen);
    REQUIRE(y.shape() == x0.shape());
    index_t zeros = 0;
    bool survivors_scaled = true;
    for (index_t i = 0; i < n; ++i) {
        if (y.value()[i] == T(0))
            ++zeros;
        else
            survivors_scaled = survivors_scaled && y.value()[i] == x0[i] * keep;
    }
    CHECK(survivors_scaled);
    // Binomial(n, p): standard deviation of the dropped fraction is sqrt(p(1-p)/n) ~ 0.00145.
    CHECK(std::abs(double(zeros) / double(n) - p) < 0.01);
}

TEST_CASE("dropout keeps the mean of its input in expectation", "[ops][dropout]") {
    Tape tape;
    Tensor<double> ones(Shape{200, 500}, 1.0);
    Generator gen(7);
    for (double p : {0.1, 0.5, 0.9}) {
        auto y = dropout(tape.constant(ones), p, true, gen);
        const double mean = y.value().array().mean();
        // each element has mean 1 and variance p/(1-p); 6 standard deviations of the mean of 1e5 of them
        CHECK(std::abs(mean - 1.0) < 6 * std::sqrt(p / (1 - p) / 1e5));
    }
}

TEST_CASE("dropout is reproducible from the generator state", "[ops][dropout]") {
    Tape tape;
    const auto x0 = random_tensor<float>({8, 33}, 3);
    auto x = tape.constant(x0);
    Generator g1(123), g2(123), g3(124);
    auto a = dropout(x, 0.5, true, g1);
    auto b = dropout(x, 0.5, true, g2);
    auto c = dropout(x, 0.5, true, g3);
    auto d = dropout(x, 0.5, true, g1);  // g1 has advanced: a new mask
    index_t same_ab = 0, same_ac = 0, same_ad = 0;
    for (index_t i = 0; i < x0.numel(); ++i) {
        same_ab += a.value()[i] == b.value()[i];
        same_ac += a.value()[i] == c.value()[i];
        same_ad += a.value()[i] == d.value()[i];
    }
    CHECK(same_ab == x0.numel());
    CHECK(same_ac < x0.numel());
    CHECK(same_ad < x0.numel());
    // A generator restored to a saved state replays the mask.
    Generator g4(9);
    const Generator::State saved = g4.state();
    auto e = dropout(x, 0.25, true, g4);
    g4.set_state(saved);
    auto f = dropout(x, 0.25, true, g4);
    for (index_t i = 0; i < x0.numel(); ++i) CHECK(e.value()[i] == f.value()[i]);
}

TEST_CASE("dropout in eval mode or with p == 0 returns its input itself", "[ops][dropout]") {
    Tape tape;
    const auto x0 = random_tensor({3, 4}, 4);
    auto x = tape.variable(x0);
    Generator gen(1);
    const Generator::State before = gen.state();
    auto eval = dropout(x, 0.5, false, gen);
    auto p0 = dropout(x, 0.0, true, gen);
    CHECK(eval.slot() == x.slot());
    CHECK(p0.slot() == x.slot());
    CHECK(tape.node_count() == 0);
    CHECK(gen.state().words == before.words);
}

TEST_CASE("dropout with p == 1 gives zeros and zero gradient", "[ops][dropout]") {
    Tape tape;
    const auto x0 = random_tensor({3, 4}, 5);
    auto x = tape.variable(x0);
    Generator gen(1);
    auto y = dropout(x, 1.0, true, gen);
    REQUIRE(y.requires_grad());
    for (index_t i = 0; i < y.numel(); ++i) CHECK(y.value()[i] == 0.0);
    tape.backward(y, Tensor<double>(Shape{3, 4}, 1.0).view());
    for (index_t i = 0; i < x.numel(); ++i) CHECK(x.grad()[i] == 0.0);
}

TEST_CASE("dropout rejects p outside [0, 1], naming p", "[ops][dropout]") {
    Tape tape;
    Tensor<float> x0(Shape{2}, 1.0f);
    auto x = tape.constant(x0);
    Generator gen;
    CHECK_THROWS_AS(dropout(x, 1.5, true, gen), ArgumentError);
    CHECK_THROWS_WITH(dropout(x, 1.5, true, gen), Catch::Contains("dropout") && Catch::Contains("1.5"));
    CHECK_THROWS_WITH(dropout(x, -0.25, false, gen), Catch::Contains("dropout") && Catch::Contains("-0.25"));
    CHECK_THROWS_AS(dropout(x, std::numeric_limits<double>::quiet_NaN(), true, gen), ArgumentError);
}

TEST_CASE("dropout backward multiplies dout by the same mask", "[ops][dropout]") {
    Tape tape;
    Tensor<double> ones(Shape{10, 10}, 1.0);
    auto x = tape.variable(ones);
    Generator gen(11);
    auto y = dropout(x, 0.4, true, gen);
    sum(y).backward();
    // with x == 1, y holds the mask itself (0 or 1/(1-p)), and so must dy/dx
    for (index_t i = 0; i < 100; ++i) CHECK(x.grad()[i] == y.value()[i]);
}

TEST_CASE("dropout passes gradcheck with a fixed-seed generator", "[ops][dropout][gradcheck]") {
    auto a = random_tensor({4, 3, 5}, 21);
    auto odd = random_tensor({7}, 22);
    auto f = [](Tape&, const std::vector<Var<double>>& v) {
        Generator gen(2024);
        return dropout(v[0], 0.35, true, gen);
    };
    CHECK(gradcheck(f, {&a}).passed);
    CHECK(gradcheck(f, {&odd}).passed);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) {
        Generator gen(77);
        return mul(dropout(v[0], 0.5, true, gen), v[0]);
    };
    CHECK(gradcheck(twice, {&a}).passed);
}
