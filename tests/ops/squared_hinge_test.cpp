#include <catch2/catch.hpp>

#include "op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/squared_hinge.hpp"
#include "support/fixture.hpp"

using namespace strata;
using strata::test::random_tensor;
using strata::test::Fixture;
using strata::test::max_rel_diff;

namespace {

template <class T>
void check_squared_hinge_fixture(double tol) {
    INFO((sizeof(T) == 4 ? "float" : "double"));
    const Fixture fx("squared_hinge.txt");
    Tensor<T> scores = fx.get<T>("scores");
    std::vector<index_t> labels;
    const Tensor<double> l = fx.get("labels");
    for (index_t i = 0; i < l.numel(); ++i) labels.push_back(static_cast<index_t>(l[i]));
    Tape tape;
    Var<T> s = tape.variable(scores);
    Var<T> loss = squared_hinge_loss(s, labels);
    CHECK(loss.shape() == Shape{});
    CHECK(tape.node_count() == 1);
    CHECK(max_rel_diff(loss.value(), fx.get("loss")) < tol);
    loss.backward();
    CHECK(max_rel_diff(s.grad(), fx.get("grad")) < tol);
}

}  // namespace

TEST_CASE("squared_hinge_loss matches PyTorch", "[ops][squared_hinge][fixture]") {
    check_squared_hinge_fixture<double>(1e-10);
    check_squared_hinge_fixture<float>(1e-5);
}

TEST_CASE("squared_hinge_loss by hand: only violated margins count", "[ops][squared_hinge]") {
    Tape tape;
    // Row 0, label 0: margins 1-2 = -1 (off), 1+0.5 = 1.5, 1-3 = -2 (off)  -> 2.25.
    // Row 1, label 2: margins 1+1 = 2, 1-0 = 1, 1-0.25 = 0.75              -> 4 + 1 + 0.5625.
    Tensor<double> scores(Shape{2, 3}, {2.0, 0.5, -3.0, 1.0, 0.0, 0.25});
    Var<double> s = tape.variable(scores);
    Var<double> loss = squared_hinge_loss(s, {0, 2});
    CHECK(loss.item() == Approx((2.25 + 5.5625) / 2).epsilon(1e-15));
    loss.backward();
    // d/ds = -2 y margin / N on violated entries.
    const double expected[] = {0.0, 1.5, 0.0, 2.0, 1.0, -0.75};
    for (index_t i = 0; i < 6; ++i) CHECK(s.grad()[i] == Approx(expected[i]).margin(1e-15));
}

TEST_CASE("squared_hinge_loss backward passes gradcheck", "[ops][squared_hinge][gradcheck]") {
    Tensor<double> a = random_tensor({5, 7}, 1, 1.5), b = random_tensor({1, 3}, 2);
    const std::vector<index_t> la{6, 0, 3, 3, 1}, la2{0, 1, 2, 4, 6};
    auto f = [&](Tape&, const std::vector<Var<double>>& v) { return squared_hinge_loss(v[0], la); };
    CHECK(gradcheck(f, {&a}).passed);
    auto g = [](Tape&, const std::vector<Var<double>>& v) { return squared_hinge_loss(v[0], {1}); };
    CHECK(gradcheck(g, {&b}).passed);
    auto twice = [&](Tape&, const std::vector<Var<double>>& v) {
        return add(squared_hinge_loss(v[0], la), squared_hinge_loss(v[0], la2));
    };
    CHECK(gradcheck(twice, {&a}).passed);
}

TEST_CASE("squared_hinge_loss rejects bad labels and shapes with clear messages", "[ops][squared_hinge]") {
    Tape tape;
    Tensor<float> x(Shape{2, 3}), t(Shape{2, 3, 1});
    CHECK_THROWS_WITH(squared_hinge_loss(tape.constant(x), {0, 3}),
                      Catch::Contains("squared_hinge_loss") && Catch::Contains("label 3") &&
                          Catch::Contains("position 1") && Catch::Contains("[0, 3)"));
    CHECK_THROWS_AS(squared_hinge_loss(tape.constant(x), {0, 1, 2}), ShapeError);
    CHECK_THROWS_WITH(squared_hinge_loss(tape.constant(t), {0, 1}), Catch::Contains("[2, 3, 1]"));
    CHECK_FALSE(squared_hinge_loss(tape.constant(x), {0, 1}).requires_grad());
    CHECK(tape.node_count() == 0);
}
