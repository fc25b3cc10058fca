#include <catch2/catch.hpp>

#include "ops/op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/mul.hpp"

using namespace strata;
using strata::test::forward_tolerance;
using strata::test::max_rel_diff;
using strata::test::random_tensor;

TEMPLATE_TEST_CASE("mul forward, same shape and broadcast", "[ops][mul]", float, double) {
    using T = TestType;
    Tape tape;
    const auto a = random_tensor<T>({2, 3, 4, 5}, 1);
    const auto same = random_tensor<T>({2, 3, 4, 5}, 2);
    const auto channel = random_tensor<T>({1, 3, 1, 1}, 3);
    const auto row = random_tensor<T>({5}, 4);

    Tensor<double> expected(a.shape());
    auto p = mul(tape.constant(a), tape.constant(same));
    REQUIRE(p.shape() == a.shape());
    for (index_t i = 0; i < a.numel(); ++i) expected[i] = double(a[i]) * double(same[i]);
    CHECK(max_rel_diff(p.value(), expected) <= forward_tolerance<T>());

    auto q = tape.constant(a) * tape.constant(channel);
    REQUIRE(q.shape() == a.shape());
    for (index_t n = 0; n < 2; ++n)
        for (index_t c = 0; c < 3; ++c)
            for (index_t h = 0; h < 4; ++h)
                for (index_t w = 0; w < 5; ++w)
                    expected.at(n, c, h, w) = double(a.at(n, c, h, w)) * double(channel.at(0, c, 0, 0));
    CHECK(max_rel_diff(q.value(), expected) <= forward_tolerance<T>());

    auto r = mul(tape.constant(row), tape.constant(a));  // [5] * [2,3,4,5]
    REQUIRE(r.shape() == a.shape());
    for (index_t n = 0; n < 2; ++n)
        for (index_t c = 0; c < 3; ++c)
            for (index_t h = 0; h < 4; ++h)
                for (index_t w = 0; w < 5; ++w)
                    expected.at(n, c, h, w) = double(a.at(n, c, h, w)) * double(row.at(w));
    CHECK(max_rel_diff(r.value(), expected) <= forward_tolerance<T>());
}

TEST_CASE("mul of a column and a row is their outer product", "[ops][mul]") {
    Tape tape;
    Tensor<float> col(Shape{3, 1}, {1, 2, 3});
    Tensor<float> row(Shape{1, 4}, {1, 10, 100, 1000});
    auto o = tape.constant(col) * tape.constant(row);
    REQUIRE(o.shape() == Shape{3, 4});
    for (index_t i = 0; i < 3; ++i)
        for (index_t j = 0; j < 4; ++j) CHECK(o.value()[i * 4 + j] == col[i] * row[j]);
}

TEST_CASE("mul rejects shapes that do not broadcast, naming both", "[ops][mul]") {
    Tape tape;
    Tensor<double> a(Shape{4, 3}), b(Shape{4});
    CHECK_THROWS_AS(mul(tape.constant(a), tape.constant(b)), ShapeError);
    CHECK_THROWS_WITH(mul(tape.constant(a), tape.constant(b)),
                      Catch::Contains("mul") && Catch::Contains("[4, 3]") && Catch::Contains("[4]"));
    Tape other;
    CHECK_THROWS_WITH(tape.constant(a) * other.constant(a), Catch::Contains("different tapes"));
}

TEST_CASE("mul backward sums a broadcast operand's gradient over its repeats", "[ops][mul]") {
    Tape tape;
    const auto a0 = random_tensor({3, 4}, 21);
    const auto b0 = random_tensor({4}, 22);
    const auto seed = random_tensor({3, 4}, 23);
    auto a = tape.variable(a0);
    auto b = tape.variable(b0);
    tape.backward(mul(a, b), seed.view());
    Tensor<double> ga(Shape{3, 4}), gb(Shape{4});
    for (index_t i = 0; i < 3; ++i)
        for (index_t j = 0; j < 4; ++j) {
            ga.at(i, j) = seed.at(i, j) * b0.at(j);
            gb.at(j) += seed.at(i, j) * a0.at(i, j);
        }
    CHECK(max_rel_diff(a.grad(), ga) <= 1e-14);
    CHECK(max_rel_diff(b.grad(), gb) <= 1e-14);
}

TEST_CASE("mul with a constant operand gives gradient only to the variable", "[ops][mul]") {
    Tape tape;
    Tensor<double> x0(Shape{2, 2}, {1, 2, 3, 4});
    Tensor<double> c0(Shape{2}, {10, 100});
    auto x = tape.variable(x0);
    auto c = tape.constant(c0);
    auto y = c * x;
    tape.backward(y, Tensor<double>(Shape{2, 2}, 1.0).view());
    CHECK(x.grad()[0] == 10);
    CHECK(x.grad()[1] == 100);
    CHECK(x.grad()[2] == 10);
    CHECK(x.grad()[3] == 100);
    CHECK_FALSE(c.has_grad());
}

TEST_CASE("mul passes gradcheck", "[ops][mul][gradcheck]") {
    auto f = [](Tape&, const std::vector<Var<double>>& v) { return mul(v[0], v[1]); };
    auto a = random_tensor({2, 3, 4, 5}, 31);
    auto same = random_tensor({2, 3, 4, 5}, 32);
    auto channel = random_tensor({1, 3, 1, 1}, 33);
    auto row = random_tensor({5}, 34);
    auto col = random_tensor({7, 1}, 35);
    auto row3 = random_tensor({1, 3}, 36);
    auto scalar = random_tensor({}, 37);
    CHECK(gradcheck(f, {&a, &same}).passed);
    CHECK(gradcheck(f, {&a, &channel}).passed);
    CHECK(gradcheck(f, {&row, &a}).passed);
    CHECK(gradcheck(f, {&col, &row3}).passed);
    CHECK(gradcheck(f, {&scalar, &a}).passed);

    auto square = [](Tape&, const std::vector<Var<double>>& v) { return v[0] * v[0]; };
    CHECK(gradcheck(square, {&a}).passed);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) { return mul(mul(v[0], v[1]), v[0]); };
    CHECK(gradcheck(twice, {&a, &channel}).passed);
    const auto c0 = random_tensor({1, 3}, 38);
    auto with_constant = [&c0](Tape& tape, const std::vector<Var<double>>& v) {
        return mul(v[0], tape.constant(c0));
    };
    CHECK(gradcheck(with_constant, {&col}).passed);
}
