#include <catch2/catch.hpp>

#include "ops/op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/mul.hpp"
#include "strata/ops/reshape.hpp"
#include "strata/ops/sum.hpp"

using namespace strata;
using strata::test::random_tensor;

TEMPLATE_TEST_CASE("reshape views the same elements under a new shape without copying", "[ops][reshape]", float,
                   double) {
    using T = TestType;
    Tape tape;
    const auto a = random_tensor<T>({2, 3, 4}, 1);
    auto x = tape.constant(a);
    auto y = reshape(x, Shape{4, 6});
    REQUIRE(y.shape() == Shape{4, 6});
    CHECK(y.value().data() == x.value().data());
    for (index_t i = 0; i < a.numel(); ++i) CHECK(y.value()[i] == a[i]);
    auto z = reshape(y, Shape{24});
    CHECK(z.shape() == Shape{24});
    CHECK(z.value().data() == a.data());
    CHECK(x.shape() == Shape{2, 3, 4});  // the input keeps its shape
    const Tensor<T> seven(Shape{1, 1}, T(7));
    auto s = reshape(tape.constant(seven), Shape{});
    CHECK(s.shape().rank() == 0);
    CHECK(s.item() == T(7));
}

TEST_CASE("reshape rejects a different element count, naming both shapes", "[ops][reshape]") {
    Tape tape;
    Tensor<float> a(Shape{2, 3});
    CHECK_THROWS_AS(reshape(tape.constant(a), Shape{4, 2}), ShapeError);
    CHECK_THROWS_WITH(reshape(tape.constant(a), Shape{4, 2}),
                      Catch::Contains("reshape") && Catch::Contains("[2, 3]") && Catch::Contains("[4, 2]"));
}

TEST_CASE("flatten keeps the batch dimension and merges the rest", "[ops][reshape]") {
    Tape tape;
    const auto a = random_tensor<float>({2, 3, 4, 5}, 2);
    auto f = flatten(tape.constant(a));
    REQUIRE(f.shape() == Shape{2, 60});
    CHECK(f.value().data() == a.data());
    const Tensor<float> rank1(Shape{3}), empty(Shape{0, 4, 5}), matrix(Shape{6, 7}), scalar(Shape{}, 1.0f);
    CHECK(flatten(tape.constant(rank1)).shape() == Shape{3, 1});
    CHECK(flatten(tape.constant(empty)).shape() == Shape{0, 20});
    CHECK(flatten(tape.constant(matrix)).shape() == Shape{6, 7});
    CHECK_THROWS_WITH(flatten(tape.constant(scalar)),
                      Catch::Contains("flatten") && Catch::Contains("[]"));
}

TEST_CASE("reshape's gradient is its own buffer and flows back to the input", "[ops][reshape]") {
    Tape tape;
    const auto x0 = random_tensor({2, 3}, 3);
    auto x = tape.variable(x0);
    auto y = reshape(x, Shape{3, 2});
    auto seed = random_tensor({3, 2}, 4);
    tape.backward(y, seed.view());
    CHECK(y.grad().data() != x.grad().data());
    for (index_t i = 0; i < 6; ++i) CHECK(x.grad()[i] == seed[i]);
    CHECK(y.grad().shape() == Shape{3, 2});
    CHECK(x.grad().shape() == Shape{2, 3});
}

TEST_CASE("reshape of a parameter leaves its value alone and accumulates into its grad", "[ops][reshape]") {
    Parameter<float> p(Tensor<float>(Shape{2, 2}, {1, 2, 3, 4}));
    Tape tape;
    auto w = tape.parameter(p);
    auto y = flatten(reshape(w, Shape{4}));
    sum(mul(y, y)).backward();
    for (index_t i = 0; i < 4; ++i) {
        CHECK(p.value[i] == float(i + 1));
        CHECK(p.grad()[i] == 2 * float(i + 1));
    }
}

TEST_CASE("reshape and flatten pass gradcheck", "[ops][reshape][gradcheck]") {
    auto a = random_tensor({2, 3, 4}, 11);
    auto r = [](Tape&, const std::vector<Var<double>>& v) { return reshape(v[0], Shape{4, 6}); };
    CHECK(gradcheck(r, {&a}).passed);
    auto fl = [](Tape&, const std::vector<Var<double>>& v) { return flatten(v[0]); };
    CHECK(gradcheck(fl, {&a}).passed);
    // The input used twice through two different reshapes, and the reshape of a product.
    auto b = random_tensor({2, 12}, 12);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) {
        return mul(reshape(v[0], Shape{2, 12}), mul(flatten(v[0]), v[1]));
    };
    CHECK(gradcheck(twice, {&a, &b}).passed);
    auto of_product = [](Tape&, const std::vector<Var<double>>& v) {
        return mul(reshape(mul(v[0], v[0]), Shape{3, 8}), reshape(v[0], Shape{3, 8}));
    };
    CHECK(gradcheck(of_product, {&a}).passed);
}
