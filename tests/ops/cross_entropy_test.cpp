#include <catch2/catch.hpp>

#include <cmath>

#include "op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/cross_entropy.hpp"
#include "support/fixture.hpp"

using namespace strata;
using strata::test::random_tensor;
using strata::test::Fixture;
using strata::test::max_rel_diff;

namespace {

std::vector<index_t> labels_of(const Tensor<double>& t) {
    std::vector<index_t> labels;
    for (index_t i = 0; i < t.numel(); ++i) labels.push_back(static_cast<index_t>(t[i]));
    return labels;
}

template <class T>
void check_cross_entropy_fixture(const std::string& suffix, double tol) {
    INFO("case '" << suffix << "' in " << (sizeof(T) == 4 ? "float" : "double"));
    const Fixture fx("cross_entropy.txt");
    Tensor<T> logits = fx.get<T>("logits" + suffix);
    Tape tape;
    Var<T> x = tape.variable(logits);
    Var<T> loss = cross_entropy(x, labels_of(fx.get("labels" + suffix)));
    CHECK(loss.shape() == Shape{});
    CHECK(tape.node_count() == 1);
    CHECK(max_rel_diff(loss.value(), fx.get("loss" + suffix)) < tol);
    loss.backward();
    CHECK(max_rel_diff(x.grad(), fx.get("grad" + suffix)) < tol);
}

}  // namespace

TEST_CASE("cross_entropy matches PyTorch, also for logits of magnitude 500", "[ops][cross_entropy][fixture]") {
    for (const char* suffix : {"", "_large"}) {
        check_cross_entropy_fixture<double>(suffix, 1e-10);
        check_cross_entropy_fixture<float>(suffix, 1e-5);
    }
}

TEST_CASE("cross_entropy is finite for logits of magnitude 1000 in float", "[ops][cross_entropy]") {
    Tape tape;
    Tensor<float> logits(Shape{2, 2}, {1000.f, -1000.f, -1000.f, -1000.f});
    Var<float> x = tape.variable(logits);
    Var<float> loss = cross_entropy(x, {1, 0});
    // Row 0: -log_softmax = 2000 for label 1; row 1: log 2.
    CHECK(loss.item() == Approx((2000.0 + std::log(2.0)) / 2).epsilon(1e-6));
    loss.backward();
    const float expected[] = {0.5f, -0.5f, -0.25f, 0.25f};
    for (index_t i = 0; i < 4; ++i) CHECK(x.grad()[i] == Approx(expected[i]).margin(1e-7));
}

TEST_CASE("cross_entropy equals the mean negative log-likelihood computed by hand", "[ops][cross_entropy]") {
    Tensor<double> logits = random_tensor({4, 3}, 7, 3.0);
    const std::vector<index_t> labels{2, 0, 0, 1};
    double expected = 0;
    for (index_t i = 0; i < 4; ++i) {
        double z = 0;
        for (index_t j = 0; j < 3; ++j) z += std::exp(logits.at(i, j));
        expected += std::log(z) - logits.at(i, labels[static_cast<std::size_t>(i)]);
    }
    Tape tape;
    CHECK(cross_entropy(tape.constant(logits), labels).item() == Approx(expected / 4).epsilon(1e-13));
}

TEST_CASE("cross_entropy backward passes gradcheck", "[ops][cross_entropy][gradcheck]") {
    Tensor<double> a = random_tensor({5, 7}, 1, 2.0), b = random_tensor({1, 3}, 2);
    const std::vector<index_t> la{6, 0, 3, 3, 1}, la2{0, 1, 2, 4, 6};
    auto f = [&](Tape&, const std::vector<Var<double>>& v) { return cross_entropy(v[0], la); };
    CHECK(gradcheck(f, {&a}).passed);
    auto g = [](Tape&, const std::vector<Var<double>>& v) { return cross_entropy(v[0], {2}); };
    CHECK(gradcheck(g, {&b}).passed);
    auto twice = [&](Tape&, const std::vector<Var<double>>& v) {
        return add(cross_entropy(v[0], la), cross_entropy(v[0], la2));
    };
    CHECK(gradcheck(twice, {&a}).passed);
}

TEST_CASE("cross_entropy rejects bad labels and shapes with clear messages", "[ops][cross_entropy]") {
    Tape tape;
    Tensor<float> x(Shape{3, 4}), v(Shape{4}), empty(Shape{0, 4});
    CHECK_THROWS_AS(cross_entropy(tape.constant(x), {0, 4, 1}), ArgumentError);
    CHECK_THROWS_WITH(cross_entropy(tape.constant(x), {0, 1, 4}),
                      Catch::Contains("cross_entropy") && Catch::Contains("label 4") &&
                          Catch::Contains("position 2") && Catch::Contains("[0, 4)"));
    CHECK_THROWS_WITH(cross_entropy(tape.constant(x), {-1, 0, 0}),
                      Catch::Contains("label -1") && Catch::Contains("position 0"));
    CHECK_THROWS_AS(cross_entropy(tape.constant(x), {0, 1}), ShapeError);
    CHECK_THROWS_WITH(cross_entropy(tape.constant(x), {0, 1}),
                      Catch::Contains("[3, 4]") && Catch::Contains("3 labels, got 2"));
    CHECK_THROWS_WITH(cross_entropy(tape.constant(v), {0}), Catch::Contains("[N, C]") && Catch::Contains("[4]"));
    CHECK_THROWS_AS(cross_entropy(tape.constant(empty), {}), ShapeError);
}
