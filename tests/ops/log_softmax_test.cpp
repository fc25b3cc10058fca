#include <catch2/catch.hpp>

#include <cmath>

#include "op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/log_softmax.hpp"
#include "support/fixture.hpp"

using namespace strata;
using strata::test::random_tensor;
using strata::test::Fixture;
using strata::test::max_rel_diff;

namespace {

template <class T>
void check_log_softmax_fixture(double tol) {
    INFO((sizeof(T) == 4 ? "float" : "double"));
    const Fixture fx("log_softmax.txt");
    Tensor<T> x = fx.get<T>("input");
    const Tensor<T> grad_output = fx.get<T>("grad_output");
    Tape tape;
    Var<T> vx = tape.variable(x);
    Var<T> y = log_softmax(vx);
    CHECK(tape.node_count() == 1);
    CHECK(max_rel_diff(y.value(), fx.get("output")) < tol);
    tape.backward(y, grad_output.view());
    CHECK(max_rel_diff(vx.grad(), fx.get("grad_input")) < tol);
}

}  // namespace

TEST_CASE("log_softmax matches PyTorch", "[ops][log_softmax][fixture]") {
    check_log_softmax_fixture<double>(1e-10);
    check_log_softmax_fixture<float>(1e-5);
}

TEST_CASE("log_softmax rows are log-probabilities, stable for huge logits", "[ops][log_softmax]") {
    Tape tape;
    Tensor<float> x(Shape{3, 3}, {1000.f, -1000.f, 999.f, -1000.f, -1001.f, -1000.f, 0.f, 0.f, 0.f});
    Var<float> y = log_softmax(tape.constant(x));
    for (index_t i = 0; i < 3; ++i) {
        double total = 0;
        for (index_t j = 0; j < 3; ++j) {
            REQUIRE(std::isfinite(y.value()[i * 3 + j]));
            total += std::exp(static_cast<double>(y.value()[i * 3 + j]));
        }
        CHECK(total == Approx(1.0).epsilon(1e-6));
    }
    // Row 0: log(1 + e^-1) is subtracted from the max; row 2 is uniform.
    CHECK(y.value()[0] == Approx(-std::log1p(std::exp(-1.0))).epsilon(1e-6));
    CHECK(y.value()[1] == Approx(-2000.0 - std::log1p(std::exp(-1.0))).epsilon(1e-6));
    CHECK(y.value()[7] == Approx(-std::log(3.0)).epsilon(1e-6));
}

TEST_CASE("log_softmax backward passes gradcheck", "[ops][log_softmax][gradcheck]") {
    auto f = [](Tape&, const std::vector<Var<double>>& v) { return log_softmax(v[0]); };
    Tensor<double> a = random_tensor({5, 7}, 1, 2.0), b = random_tensor({1, 4}, 2), c = random_tensor({3, 1}, 3);
    CHECK(gradcheck(f, {&a}).passed);
    CHECK(gradcheck(f, {&b}).passed);
    CHECK(gradcheck(f, {&c}).passed);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) { return add(log_softmax(v[0]), v[0]); };
    CHECK(gradcheck(twice, {&a}).passed);
    auto nested = [](Tape&, const std::vector<Var<double>>& v) { return log_softmax(log_softmax(v[0])); };
    CHECK(gradcheck(nested, {&a}).passed);
}

TEST_CASE("log_softmax records nothing without gradients and rejects non-matrices", "[ops][log_softmax]") {
    Tape tape;
    Tensor<double> x(Shape{2, 3}), v(Shape{6}), t(Shape{2, 3, 1});
    CHECK_FALSE(log_softmax(tape.constant(x)).requires_grad());
    CHECK(tape.node_count() == 0);
    CHECK_THROWS_AS(log_softmax(tape.constant(v)), ShapeError);
    CHECK_THROWS_WITH(log_softmax(tape.constant(t)), Catch::Contains("log_softmax") && Catch::Contains("[2, 3, 1]"));
}
