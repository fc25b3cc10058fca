#include <catch2/catch.hpp>

#include "ops/op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/scale.hpp"

using namespace strata;
using strata::test::forward_tolerance;
using strata::test::max_rel_diff;
using strata::test::random_tensor;

TEMPLATE_TEST_CASE("scale multiplies every element by the factor, in both operator orders", "[ops][scale]", float,
                   double) {
    using T = TestType;
    Tape tape;
    const auto a = random_tensor<T>({2, 3, 5}, 1);
    const T factor = T(-2.75);
    Tensor<double> expected(a.shape());
    for (index_t i = 0; i < a.numel(); ++i) expected[i] = double(a[i]) * double(factor);
    auto x = tape.constant(a);
    for (const Var<T>& y : {scale(x, factor), factor * x, x * factor}) {
        REQUIRE(y.shape() == a.shape());
        CHECK(max_rel_diff(y.value(), expected) <= forward_tolerance<T>());
    }
    // A double literal works with a float Var (the factor is converted to T).
    auto half = 0.5 * x;
    CHECK(half.value()[3] == a[3] * T(0.5));
    CHECK(tape.node_count() == 0);
}

TEST_CASE("scale backward multiplies dout by the factor, also for factor 0", "[ops][scale]") {
    Tape tape;
    Tensor<double> x0(Shape{3}, {1, -2, 3});
    Tensor<double> seed(Shape{3}, {1, 10, 100});
    auto x = tape.variable(x0);
    auto y = scale(x, 3.0);
    auto z = scale(x, 0.0);
    tape.backward(add(y, z), seed.view());
    CHECK(tape.node_name(0) == std::string("scale"));
    CHECK(x.grad()[0] == 3);
    CHECK(x.grad()[1] == 30);
    CHECK(x.grad()[2] == 300);
    for (index_t i = 0; i < 3; ++i) CHECK(z.value()[i] == 0.0);
}

TEST_CASE("scale passes gradcheck", "[ops][scale][gradcheck]") {
    auto a = random_tensor({4, 3, 5}, 11);
    auto odd = random_tensor({7}, 12);
    auto f = [](Tape&, const std::vector<Var<double>>& v) { return scale(v[0], -1.7); };
    CHECK(gradcheck(f, {&a}).passed);
    CHECK(gradcheck(f, {&odd}).passed);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) { return add(2.5 * v[0], v[0] * 0.25); };
    CHECK(gradcheck(twice, {&a}).passed);
}
