#include <catch2/catch.hpp>

#include "ops/op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/linear.hpp"

using namespace strata;
using strata::test::forward_tolerance;
using strata::test::max_rel_diff;
using strata::test::random_tensor;

namespace {
/// y[i][o] = sum_j x[i][j] w[o][j] (+ b[o]), in double.
template <class T>
Tensor<double> naive_linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>* b) {
    const index_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
    Tensor<double> y(Shape{n, out});
    for (index_t i = 0; i < n; ++i)
        for (index_t o = 0; o < out; ++o) {
            double acc = b ? double(b->at(o)) : 0.0;
            for (index_t j = 0; j < in; ++j) acc += double(x.at(i, j)) * double(w.at(o, j));
            y.at(i, o) = acc;
        }
    return y;
}
}  // namespace

TEMPLATE_TEST_CASE("linear matches x W^T + b, with and without bias", "[ops][linear]", float, double) {
    using T = TestType;
    Tape tape;
    const Shape cases[][2] = {{{5, 3}, {4, 3}}, {{1, 7}, {2, 7}}, {{9, 16}, {11, 16}}};
    std::uint64_t seed = 1;
    for (const auto& s : cases) {
        const auto x = random_tensor<T>(s[0], seed++);
        const auto w = random_tensor<T>(s[1], seed++);
        const auto b = random_tensor<T>({s[1][0]}, seed++);
        auto with_bias = linear(tape.constant(x), tape.constant(w), tape.constant(b));
        REQUIRE(with_bias.shape() == Shape{s[0][0], s[1][0]});
        CHECK(max_rel_diff(with_bias.value(), naive_linear(x, w, &b)) <= forward_tolerance<T>());
        auto no_bias = linear(tape.constant(x), tape.constant(w), Var<T>());
        REQUIRE(no_bias.shape() == Shape{s[0][0], s[1][0]});
        CHECK(max_rel_diff(no_bias.value(), naive_linear<T>(x, w, nullptr)) <= forward_tolerance<T>());
        auto defaulted = linear(tape.constant(x), tape.constant(w));
        CHECK(max_rel_diff(defaulted.value(), naive_linear<T>(x, w, nullptr)) <= forward_tolerance<T>());
    }
}

TEST_CASE("linear records exactly one node", "[ops][linear]") {
    Tape tape;
    const auto x = random_tensor({3, 4}, 1), w = random_tensor({2, 4}, 2), b = random_tensor({2}, 3);
    auto y = linear(tape.variable(x), tape.variable(w), tape.variable(b));
    CHECK(y.requires_grad());
    REQUIRE(tape.node_count() == 1);
    CHECK(tape.node_name(0) == std::string("linear"));
    auto z = linear(tape.constant(x), tape.constant(w), tape.constant(b));
    CHECK_FALSE(z.requires_grad());
    CHECK(tape.node_count() == 1);
}

TEST_CASE("linear rejects bad shapes, naming them", "[ops][linear]") {
    Tape tape;
    Tensor<float> x(Shape{2, 3}), w(Shape{4, 5}), w_ok(Shape{4, 3}), b_bad(Shape{5}), b_2d(Shape{1, 4}),
        x3(Shape{2, 3, 1});
    auto X = tape.constant(x);
    CHECK_THROWS_AS(linear(X, tape.constant(w)), ShapeError);
    CHECK_THROWS_WITH(linear(X, tape.constant(w)),
                      Catch::Contains("linear") && Catch::Contains("[2, 3]") && Catch::Contains("[4, 5]"));
    CHECK_THROWS_WITH(linear(X, tape.constant(w_ok), tape.constant(b_bad)),
                      Catch::Contains("linear") && Catch::Contains("[5]") && Catch::Contains("[4, 3]"));
    CHECK_THROWS_WITH(linear(X, tape.constant(w_ok), tape.constant(b_2d)),
                      Catch::Contains("bias") && Catch::Contains("[1, 4]"));
    CHECK_THROWS_WITH(linear(tape.constant(x3), tape.constant(w_ok)),
                      Catch::Contains("linear") && Catch::Contains("[2, 3, 1]") && Catch::Contains("[4, 3]"));
    Tape other;
    CHECK_THROWS_WITH(linear(X, other.constant(w_ok)), Catch::Contains("different tapes"));
}

TEST_CASE("linear passes gradcheck with and without bias", "[ops][linear][gradcheck]") {
    auto with_bias = [](Tape&, const std::vector<Var<double>>& v) { return linear(v[0], v[1], v[2]); };
    auto no_bias = [](Tape&, const std::vector<Var<double>>& v) { return linear(v[0], v[1]); };
    auto x = random_tensor({5, 3}, 11), w = random_tensor({4, 3}, 12), b = random_tensor({4}, 13);
    auto x1 = random_tensor({1, 7}, 14), w1 = random_tensor({3, 7}, 15), b1 = random_tensor({3}, 16);
    CHECK(gradcheck(with_bias, {&x, &w, &b}).passed);
    CHECK(gradcheck(with_bias, {&x1, &w1, &b1}).passed);
    CHECK(gradcheck(no_bias, {&x, &w}).passed);
    // The weight used as the input too: W W^T + b.
    auto sq = random_tensor({4, 4}, 17);
    auto self = [](Tape&, const std::vector<Var<double>>& v) { return linear(v[0], v[0], v[1]); };
    CHECK(gradcheck(self, {&w, &b}).passed);
    // The same weight and bias applied twice: (x W^T + b) W^T + b.
    auto x4 = random_tensor({5, 4}, 18);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) {
        return linear(linear(v[0], v[1], v[2]), v[1], v[2]);
    };
    CHECK(gradcheck(twice, {&x4, &sq, &b}).passed);
}

TEST_CASE("linear accumulates into parameters; a frozen bias gets nothing", "[ops][linear][gradcheck]") {
    Parameter<double> w(random_tensor({4, 3}, 21));
    Parameter<double> b(random_tensor({4}, 22));
    const auto x = random_tensor({6, 3}, 23);
    auto f = [&](Tape& tape) { return linear(tape.constant(x), tape.parameter(w), tape.parameter(b)); };
    CHECK(gradcheck_parameters(f, {&w, &b}).passed);

    b.requires_grad = false;
    Tape tape;
    auto y = linear(tape.constant(x), tape.parameter(w), tape.parameter(b));
    tape.backward(y, Tensor<double>(Shape{6, 4}, 1.0).view());
    for (index_t i = 0; i < 4; ++i) CHECK(b.grad()[i] == 0.0);
    // dW[o][j] = sum_i x[i][j] for a seed of ones
    for (index_t o = 0; o < 4; ++o)
        for (index_t j = 0; j < 3; ++j) {
            double col = 0;
            for (index_t i = 0; i < 6; ++i) col += x.at(i, j);
            CHECK(w.grad().at(o, j) == Approx(col).epsilon(1e-13));
        }
}
