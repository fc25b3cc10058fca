#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/avg_pool2d.hpp"
#include "support/fixture.hpp"

using namespace strata;
using strata::test::random_tensor;

namespace {

template <class T>
void check_avg_pool_fixture(const std::string& file, double tol) {
    const test::Fixture fx(file);
    const auto k = static_cast<index_t>(fx.scalar("kernel")), s = static_cast<index_t>(fx.scalar("stride")),
               p = static_cast<index_t>(fx.scalar("padding"));
    const bool include_pad = fx.scalar("count_include_pad") != 0.0;
    Tape tape;
    const Tensor<T> x = fx.get<T>("input"), dy = fx.get<T>("grad_output");
    auto xv = tape.variable(x);
    auto y = avg_pool2d(xv, k, s, p, include_pad);
    tape.backward(y, dy.view());
    CHECK(test::max_rel_diff(y.value(), fx.get("output")) < tol);
    CHECK(test::max_rel_diff(xv.grad(), fx.get("grad_input")) < tol);
}

}  // namespace

TEST_CASE("avg_pool2d forward on a hand-computed example", "[ops][avg_pool2d]") {
    Tape tape;
    Tensor<double> x(Shape{1, 1, 2, 2}, {1, 2, 3, 4});
    // kernel 2, stride 1, padding 1 -> 3x3 windows over the zero-padded 4x4 image
    auto incl = avg_pool2d(tape.constant(x), 2, 1, 1, true);
    auto excl = avg_pool2d(tape.constant(x), 2, 1, 1, false);
    REQUIRE(incl.shape() == Shape{1, 1, 3, 3});
    const std::vector<double> sums = {1, 3, 2, 4, 10, 6, 3, 7, 4};
    const std::vector<double> cells = {1, 2, 1, 2, 4, 2, 1, 2, 1};
    for (std::size_t i = 0; i < 9; ++i) {
        CHECK(incl.value()[static_cast<index_t>(i)] == Approx(sums[i] / 4));
        CHECK(excl.value()[static_cast<index_t>(i)] == Approx(sums[i] / cells[i]));
    }
    auto plain = avg_pool2d(tape.constant(x), 2, 2);
    REQUIRE(plain.shape() == Shape{1, 1, 1, 1});
    CHECK(plain.value()[0] == Approx(2.5));
}

TEST_CASE("avg_pool2d matches PyTorch fixtures in float and double", "[ops][avg_pool2d][fixture]") {
    for (const char* file : {"avg_pool2d_k3_s2_p1_incl.txt", "avg_pool2d_k3_s2_p1_excl.txt", "avg_pool2d_k2_s1.txt"}) {
        INFO(file);
        check_avg_pool_fixture<float>(file, 1e-5);
        check_avg_pool_fixture<double>(file, 1e-10);
    }
}

TEST_CASE("avg_pool2d backward passes gradcheck", "[ops][avg_pool2d][gradcheck]") {
    auto pool = [](index_t k, index_t s, index_t p, bool incl) {
        return [=](Tape&, const std::vector<Var<double>>& v) { return avg_pool2d(v[0], k, s, p, incl); };
    };
    auto x = random_tensor({3, 2, 7, 5}, 1), x9 = random_tensor({3, 2, 9, 9}, 2);
    for (bool incl : {true, false}) {
        INFO("count_include_pad " << incl);
        CHECK(gradcheck(pool(3, 2, 1, incl), {&x}).passed);
        CHECK(gradcheck(pool(2, 2, 0, incl), {&x}).passed);
        CHECK(gradcheck(pool(3, 1, 1, incl), {&x9}).passed);
        CHECK(gradcheck(pool(4, 3, 2, incl), {&x9}).passed);
    }
    auto twice = [](Tape&, const std::vector<Var<double>>& v) {
        return add(avg_pool2d(v[0], 3, 1, 1, false), v[0]);
    };
    CHECK(gradcheck(twice, {&x9}).passed);
}

TEST_CASE("avg_pool2d rejects bad shapes and arguments with clear messages", "[ops][avg_pool2d][errors]") {
    Tape tape;
    Tensor<float> x(Shape{2, 3, 7, 5}), x2(Shape{7, 5});
    auto X = tape.constant(x);
    CHECK_THROWS_AS(avg_pool2d(tape.constant(x2), 2, 2), ShapeError);
    CHECK_THROWS_WITH(avg_pool2d(tape.constant(x2), 2, 2),
                      Catch::Contains("avg_pool2d") && Catch::Contains("rank 4") && Catch::Contains("[7, 5]"));
    CHECK_THROWS_AS(avg_pool2d(X, 0, 1), ArgumentError);
    CHECK_THROWS_AS(avg_pool2d(X, 2, 0), ArgumentError);
    CHECK_THROWS_WITH(avg_pool2d(X, 2, 0), Catch::Contains("avg_pool2d: stride") && Catch::Contains("0"));
    CHECK_THROWS_AS(avg_pool2d(X, 2, 2, 2), ArgumentError);
    CHECK_THROWS_WITH(avg_pool2d(X, 2, 2, 2), Catch::Contains("padding 2") && Catch::Contains("kernel 2"));
    CHECK_THROWS_AS(avg_pool2d(X, 8, 1, 0), ShapeError);
    CHECK_THROWS_WITH(avg_pool2d(X, 8, 1, 0), Catch::Contains("kernel 8") && Catch::Contains("[2, 3, 7, 5]"));
}
