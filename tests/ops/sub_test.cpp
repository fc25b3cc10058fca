#include <catch2/catch.hpp>

#include "ops/op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/sub.hpp"

using namespace strata;
using strata::test::forward_tolerance;
using strata::test::max_rel_diff;
using strata::test::random_tensor;

TEMPLATE_TEST_CASE("sub forward, same shape and broadcast", "[ops][sub]", float, double) {
    using T = TestType;
    Tape tape;
    const auto a = random_tensor<T>({2, 3, 4}, 1);
    const auto same = random_tensor<T>({2, 3, 4}, 2);
    const auto col = random_tensor<T>({3, 1}, 3);

    auto d = sub(tape.constant(a), tape.constant(same));
    REQUIRE(d.shape() == Shape{2, 3, 4});
    Tensor<double> expected(Shape{2, 3, 4});
    for (index_t i = 0; i < a.numel(); ++i) expected[i] = double(a[i]) - double(same[i]);
    CHECK(max_rel_diff(d.value(), expected) <= forward_tolerance<T>());

    auto e = tape.constant(a) - tape.constant(col);  // [2,3,4] - [3,1]
    REQUIRE(e.shape() == Shape{2, 3, 4});
    for (index_t i = 0; i < 2; ++i)
        for (index_t j = 0; j < 3; ++j)
            for (index_t k = 0; k < 4; ++k) expected.at(i, j, k) = double(a.at(i, j, k)) - double(col.at(j, 0));
    CHECK(max_rel_diff(e.value(), expected) <= forward_tolerance<T>());

    auto f = sub(tape.constant(col), tape.constant(a));  // [3,1] - [2,3,4]: the other operand broadcast
    REQUIRE(f.shape() == Shape{2, 3, 4});
    for (index_t i = 0; i < expected.numel(); ++i) expected[i] = -expected[i];
    CHECK(max_rel_diff(f.value(), expected) <= forward_tolerance<T>());
}

TEST_CASE("sub with a scalar and with both operands broadcast", "[ops][sub]") {
    Tape tape;
    Tensor<float> row(Shape{3}, {1, 2, 3});
    Tensor<float> col(Shape{2, 1}, {10, 20});
    Tensor<float> scalar(Shape{}, {0.5f});
    auto rc = tape.constant(row) - tape.constant(col);  // [3] - [2,1] -> [2,3]
    REQUIRE(rc.shape() == Shape{2, 3});
    CHECK(rc.value()[0] == 1 - 10);
    CHECK(rc.value()[5] == 3 - 20);
    auto rs = tape.constant(row) - tape.constant(scalar);
    REQUIRE(rs.shape() == Shape{3});
    CHECK(rs.value()[2] == 2.5f);
}

TEMPLATE_TEST_CASE("neg and unary minus negate elementwise", "[ops][sub]", float, double) {
    using T = TestType;
    Tape tape;
    const auto a = random_tensor<T>({3, 5}, 7);
    auto n1 = neg(tape.constant(a));
    auto n2 = -tape.constant(a);
    REQUIRE(n1.shape() == a.shape());
    REQUIRE(n2.shape() == a.shape());
    for (index_t i = 0; i < a.numel(); ++i) {
        CHECK(n1.value()[i] == -a[i]);
        CHECK(n2.value()[i] == -a[i]);
    }
}

TEST_CASE("sub rejects shapes that do not broadcast, naming both", "[ops][sub]") {
    Tape tape;
    Tensor<float> a(Shape{2, 3}), b(Shape{2});
    CHECK_THROWS_AS(sub(tape.constant(a), tape.constant(b)), ShapeError);
    CHECK_THROWS_WITH(sub(tape.constant(a), tape.constant(b)),
                      Catch::Contains("sub") && Catch::Contains("[2, 3]") && Catch::Contains("[2]"));
    Tape other;
    CHECK_THROWS_WITH(sub(tape.constant(a), other.constant(a)),
                      Catch::Contains("sub") && Catch::Contains("different tapes"));
}

TEST_CASE("sub backward: a gets dout, b gets -dout summed over its repeats", "[ops][sub]") {
    Tape tape;
    Tensor<double> a0(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor<double> b0(Shape{3}, {7, 8, 9});
    auto a = tape.variable(a0);
    auto b = tape.variable(b0);
    auto c = sub(a, b);
    Tensor<double> seed(Shape{2, 3}, {1, 2, 3, 10, 20, 30});
    tape.backward(c, seed.view());
    for (index_t i = 0; i < 6; ++i) CHECK(a.grad()[i] == seed[i]);
    CHECK(b.grad()[0] == -11);
    CHECK(b.grad()[1] == -22);
    CHECK(b.grad()[2] == -33);
}

TEST_CASE("sub with a constant operand records gradient for the variable only", "[ops][sub]") {
    Tape tape;
    Tensor<double> a0(Shape{4}, {1, 2, 3, 4});
    auto c = tape.constant(a0);
    auto x = tape.variable(a0);
    auto y = sub(c, x);
    REQUIRE(y.requires_grad());
    tape.backward(y, Tensor<double>(Shape{4}, 2.0).view());
    for (index_t i = 0; i < 4; ++i) CHECK(x.grad()[i] == -2.0);
    CHECK_FALSE(c.requires_grad());
    auto z = sub(c, c);
    CHECK_FALSE(z.requires_grad());
    CHECK(tape.node_count() == 1);
}

TEST_CASE("sub and neg pass gradcheck", "[ops][sub][gradcheck]") {
    auto f = [](Tape&, const std::vector<Var<double>>& v) { return sub(v[0], v[1]); };
    auto a = random_tensor({2, 3, 4, 5}, 11);
    auto same = random_tensor({2, 3, 4, 5}, 12);
    auto bias = random_tensor({1, 3, 1, 1}, 13);
    auto row = random_tensor({5}, 14);
    auto odd = random_tensor({3, 7}, 15);
    auto odd_col = random_tensor({3, 1}, 16);
    CHECK(gradcheck(f, {&a, &same}).passed);
    CHECK(gradcheck(f, {&a, &bias}).passed);
    CHECK(gradcheck(f, {&row, &a}).passed);
    CHECK(gradcheck(f, {&odd_col, &odd}).passed);

    auto self = [](Tape&, const std::vector<Var<double>>& v) { return sub(v[0], v[0]); };
    CHECK(gradcheck(self, {&odd}).passed);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) { return sub(sub(v[0], v[1]), -v[0]); };
    CHECK(gradcheck(twice, {&a, &bias}).passed);
    auto negf = [](Tape&, const std::vector<Var<double>>& v) { return neg(v[0]); };
    CHECK(gradcheck(negf, {&odd}).passed);
}
