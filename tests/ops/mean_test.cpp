#include <catch2/catch.hpp>

#include "ops/op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/mean.hpp"
#include "strata/ops/mul.hpp"

using namespace strata;
using strata::test::random_tensor;

TEMPLATE_TEST_CASE("mean averages every element into a rank-0 scalar", "[ops][mean]", float, double) {
    using T = TestType;
    Tape tape;
    const auto a = random_tensor<T>({3, 7, 5}, 5);
    double total = 0, magnitude = 0;
    for (index_t i = 0; i < a.numel(); ++i) {
        total += double(a[i]);
        magnitude += std::abs(double(a[i]));
    }
    auto m = mean(tape.constant(a));
    CHECK(m.shape() == Shape{});
    CHECK(m.numel() == 1);
    const double tol = (std::is_same_v<T, float> ? 1e-6 : 1e-14) * magnitude / double(a.numel());
    CHECK(std::abs(double(m.item()) - total / double(a.numel())) <= tol);

    Tensor<T> small(Shape{2, 2}, {1, 2, 3, 6});
    CHECK(mean(tape.constant(small)).item() == T(3));
}

TEST_CASE("mean of an empty tensor throws, naming the shape", "[ops][mean]") {
    Tape tape;
    Tensor<float> empty(Shape{0, 3});
    CHECK_THROWS_AS(mean(tape.constant(empty)), ShapeError);
    CHECK_THROWS_WITH(mean(tape.constant(empty)), Catch::Contains("mean") && Catch::Contains("[0, 3]"));
}

TEST_CASE("mean backward gives every element dout / numel", "[ops][mean]") {
    Tape tape;
    const auto x0 = random_tensor({2, 4}, 1);
    auto x = tape.variable(x0);
    tape.backward(mean(x), Tensor<double>(Shape{}, {2.0}).view());
    for (index_t i = 0; i < 8; ++i) CHECK(x.grad()[i] == 0.25);
}

TEST_CASE("mean passes gradcheck", "[ops][mean][gradcheck]") {
    auto f = [](Tape&, const std::vector<Var<double>>& v) { return mean(v[0]); };
    auto a = random_tensor({2, 3, 5}, 11);
    auto odd = random_tensor({7}, 12);
    CHECK(gradcheck(f, {&a}).passed);
    CHECK(gradcheck(f, {&odd}).passed);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) { return mean(mul(v[0], v[0])); };
    CHECK(gradcheck(twice, {&a}).passed);
}
