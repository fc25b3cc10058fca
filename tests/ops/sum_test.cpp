#include <catch2/catch.hpp>

#include "ops/op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/mul.hpp"
#include "strata/ops/sum.hpp"

using namespace strata;
using strata::test::random_tensor;

TEMPLATE_TEST_CASE("sum adds every element into a rank-0 scalar", "[ops][sum]", float, double) {
    using T = TestType;
    Tape tape;
    Generator gen(5);
    Tensor<T> a(Shape{3, 17, 5});
    a.fill_uniform(gen, 0.0, 1.0);
    double expected = 0;
    for (index_t i = 0; i < a.numel(); ++i) expected += double(a[i]);
    auto s = sum(tape.constant(a));
    CHECK(s.shape() == Shape{});
    CHECK(s.shape().rank() == 0);
    CHECK(s.numel() == 1);
    CHECK(double(s.item()) == Approx(expected).epsilon(std::is_same_v<T, float> ? 1e-5 : 1e-13));

    Tensor<T> small(Shape{4}, {1, 2, 3, 4});
    CHECK(sum(tape.constant(small)).item() == T(10));
    Tensor<T> empty(Shape{0, 3});
    CHECK(sum(tape.constant(empty)).item() == T(0));
}

TEST_CASE("sum backward gives every element dout", "[ops][sum]") {
    Tape tape;
    const auto x0 = random_tensor({2, 3}, 1);
    auto x = tape.variable(x0);
    auto s = sum(x);
    tape.backward(s, Tensor<double>(Shape{}, {2.5}).view());
    for (index_t i = 0; i < 6; ++i) CHECK(x.grad()[i] == 2.5);
}

TEST_CASE("sum of x * x has gradient 2x", "[ops][sum]") {
    Tape tape;
    const auto x0 = random_tensor({4, 3}, 2);
    auto x = tape.variable(x0);
    sum(mul(x, x)).backward();
    for (index_t i = 0; i < x0.numel(); ++i) CHECK(x.grad()[i] == Approx(2 * x0[i]).epsilon(1e-14));
}

TEST_CASE("sum passes gradcheck", "[ops][sum][gradcheck]") {
    auto f = [](Tape&, const std::vector<Var<double>>& v) { return sum(v[0]); };
    auto a = random_tensor({2, 3, 5}, 11);
    auto odd = random_tensor({7}, 12);
    auto scalar = random_tensor({}, 13);
    CHECK(gradcheck(f, {&a}).passed);
    CHECK(gradcheck(f, {&odd}).passed);
    CHECK(gradcheck(f, {&scalar}).passed);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) { return sum(mul(v[0], sum(v[0]))); };
    CHECK(gradcheck(twice, {&a}).passed);
}
