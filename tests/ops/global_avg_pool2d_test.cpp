#include <catch2/catch.hpp>

#include <vector>

#include "op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/global_avg_pool2d.hpp"
#include "support/fixture.hpp"

using namespace strata;
using strata::test::random_tensor;

namespace {

template <class T>
void check_global_fixture(double tol) {
    const test::Fixture fx("global_avg_pool2d.txt");
    Tape tape;
    const Tensor<T> x = fx.get<T>("input"), dy = fx.get<T>("grad_output");
    auto xv = tape.variable(x);
    auto y = global_avg_pool2d(xv);
    tape.backward(y, dy.view());
    CHECK(test::max_rel_diff(y.value(), fx.get("output")) < tol);
    CHECK(test::max_rel_diff(xv.grad(), fx.get("grad_input")) < tol);
}

}  // namespace

TEST_CASE("global_avg_pool2d forward and backward on a hand-computed example", "[ops][global_avg_pool2d]") {
    Tape tape;
    Tensor<double> x(Shape{1, 2, 1, 3}, {1, 2, 6, -3, 0, 0});
    auto xv = tape.variable(x);
    auto y = global_avg_pool2d(xv);
    REQUIRE(y.shape() == Shape{1, 2, 1, 1});
    CHECK(y.value()[0] == Approx(3.0));
    CHECK(y.value()[1] == Approx(-1.0));
    Tensor<double> seed(y.shape(), {3, 6});
    tape.backward(y, seed.view());
    const std::vector<double> expected = {1, 1, 1, 2, 2, 2};
    for (index_t i = 0; i < 6; ++i) CHECK(xv.grad()[i] == Approx(expected[static_cast<std::size_t>(i)]));
}

TEST_CASE("global_avg_pool2d matches a PyTorch fixture in float and double", "[ops][global_avg_pool2d][fixture]") {
    check_global_fixture<float>(1e-5);
    check_global_fixture<double>(1e-10);
}

TEST_CASE("global_avg_pool2d backward passes gradcheck", "[ops][global_avg_pool2d][gradcheck]") {
    auto x = random_tensor({3, 4, 7, 5}, 1);
    auto f = [](Tape&, const std::vector<Var<double>>& v) { return global_avg_pool2d(v[0]); };
    CHECK(gradcheck(f, {&x}).passed);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) { return add(global_avg_pool2d(v[0]), v[0]); };
    CHECK(gradcheck(twice, {&x}).passed);
}

TEST_CASE("global_avg_pool2d rejects bad shapes with clear messages", "[ops][global_avg_pool2d][errors]") {
    Tape tape;
    Tensor<float> x3(Shape{2, 3, 4}), empty(Shape{2, 3, 0, 4});
    CHECK_THROWS_AS(global_avg_pool2d(tape.constant(x3)), ShapeError);
    CHECK_THROWS_WITH(global_avg_pool2d(tape.constant(x3)),
                      Catch::Contains("global_avg_pool2d") && Catch::Contains("[2, 3, 4]"));
    CHECK_THROWS_WITH(global_avg_pool2d(tape.constant(empty)),
                      Catch::Contains("empty") && Catch::Contains("[2, 3, 0, 4]"));
}
