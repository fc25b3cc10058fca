#include <catch2/catch.hpp>

#include "ops/op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/matmul.hpp"

using namespace strata;
using strata::test::forward_tolerance;
using strata::test::max_rel_diff;
using strata::test::random_tensor;

namespace {
template <class T>
Tensor<double> naive_matmul(const Tensor<T>& a, const Tensor<T>& b) {
    const index_t m = a.dim(0), k = a.dim(1), n = b.dim(1);
    Tensor<double> c(Shape{m, n});
    for (index_t i = 0; i < m; ++i)
        for (index_t j = 0; j < n; ++j)
            for (index_t l = 0; l < k; ++l) c.at(i, j) += double(a.at(i, l)) * double(b.at(l, j));
    return c;
}
}  // namespace

TEMPLATE_TEST_CASE("matmul matches the textbook triple loop", "[ops][matmul]", float, double) {
    using T = TestType;
    Tape tape;
    const Shape shapes[][2] = {{{3, 5}, {5, 4}}, {{1, 7}, {7, 1}}, {{6, 1}, {1, 9}}, {{17, 33}, {33, 9}}};
    std::uint64_t seed = 1;
    for (const auto& s : shapes) {
        const auto a = random_tensor<T>(s[0], seed++);
        const auto b = random_tensor<T>(s[1], seed++);
        auto c = matmul(tape.constant(a), tape.constant(b));
        REQUIRE(c.shape() == Shape{s[0][0], s[1][1]});
        CHECK(max_rel_diff(c.value(), naive_matmul(a, b)) <= forward_tolerance<T>());
    }
}

TEST_CASE("matmul with an empty inner dimension gives zeros", "[ops][matmul]") {
    Tape tape;
    Tensor<float> a(Shape{4, 0}), b(Shape{0, 3});
    auto c = matmul(tape.constant(a), tape.constant(b));
    REQUIRE(c.shape() == Shape{4, 3});
    for (index_t i = 0; i < c.numel(); ++i) CHECK(c.value()[i] == 0.0f);
}

TEST_CASE("matmul rejects bad shapes, naming both", "[ops][matmul]") {
    Tape tape;
    Tensor<float> a(Shape{2, 3}), b(Shape{4, 5}), v(Shape{3}), t(Shape{2, 3, 4});
    CHECK_THROWS_AS(matmul(tape.constant(a), tape.constant(b)), ShapeError);
    CHECK_THROWS_WITH(matmul(tape.constant(a), tape.constant(b)),
                      Catch::Contains("matmul") && Catch::Contains("[2, 3]") && Catch::Contains("[4, 5]"));
    CHECK_THROWS_WITH(matmul(tape.constant(a), tape.constant(v)),
                      Catch::Contains("matmul") && Catch::Contains("[2, 3]") && Catch::Contains("[3]"));
    CHECK_THROWS_WITH(matmul(tape.constant(t), tape.constant(a)),
                      Catch::Contains("[2, 3, 4]") && Catch::Contains("[2, 3]"));
    Tape other;
    CHECK_THROWS_WITH(matmul(tape.constant(a), other.constant(a)), Catch::Contains("different tapes"));
}

TEST_CASE("matmul backward is dout b^T and a^T dout", "[ops][matmul]") {
    Tape tape;
    Tensor<double> a0(Shape{2, 2}, {1, 2, 3, 4});
    Tensor<double> b0(Shape{2, 1}, {5, 6});
    auto a = tape.variable(a0);
    auto b = tape.variable(b0);
    Tensor<double> seed(Shape{2, 1}, {1, 10});
    tape.backward(matmul(a, b), seed.view());
    // da[i][l] = seed[i] * b[l]; db[l] = sum_i a[i][l] * seed[i]
    CHECK(a.grad()[0] == 5);
    CHECK(a.grad()[1] == 6);
    CHECK(a.grad()[2] == 50);
    CHECK(a.grad()[3] == 60);
    CHECK(b.grad()[0] == 1 + 30);
    CHECK(b.grad()[1] == 2 + 40);
}

TEST_CASE("matmul passes gradcheck", "[ops][matmul][gradcheck]") {
    auto f = [](Tape&, const std::vector<Var<double>>& v) { return matmul(v[0], v[1]); };
    auto a = random_tensor({3, 5}, 11);
    auto b = random_tensor({5, 4}, 12);
    auto tall = random_tensor({7, 3}, 13);
    auto wide = random_tensor({3, 9}, 14);
    auto row = random_tensor({1, 5}, 15);
    CHECK(gradcheck(f, {&a, &b}).passed);
    CHECK(gradcheck(f, {&tall, &wide}).passed);
    CHECK(gradcheck(f, {&row, &b}).passed);

    auto sq = random_tensor({4, 4}, 16);
    auto self = [](Tape&, const std::vector<Var<double>>& v) { return matmul(v[0], v[0]); };
    CHECK(gradcheck(self, {&sq}).passed);
    auto c = random_tensor({5, 4}, 17);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) {
        return add(matmul(v[0], v[1]), matmul(v[0], v[2]));
    };
    CHECK(gradcheck(twice, {&a, &b, &c}).passed);
    auto with_constant = [&b](Tape& tape, const std::vector<Var<double>>& v) {
        return matmul(v[0], tape.constant(b));
    };
    CHECK(gradcheck(with_constant, {&a}).passed);
}
