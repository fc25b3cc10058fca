#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/max_pool2d.hpp"
#include "support/fixture.hpp"
#include "support/isa_scope.hpp"

using namespace strata;
using strata::test::random_tensor;

namespace {

template <class T>
void check_max_pool_fixture(const std::string& file, double tol) {
    const test::Fixture fx(file);
    const auto k = static_cast<index_t>(fx.scalar("kernel")), s = static_cast<index_t>(fx.scalar("stride")),
               p = static_cast<index_t>(fx.scalar("padding"));
    Tape tape;
    const Tensor<T> x = fx.get<T>("input"), dy = fx.get<T>("grad_output");
    auto xv = tape.variable(x);
    auto y = max_pool2d(xv, k, s, p);
    tape.backward(y, dy.view());
    CHECK(test::max_rel_diff(y.value(), fx.get("output")) < tol);
    CHECK(test::max_rel_diff(xv.grad(), fx.get("grad_input")) < tol);
}

}  // namespace

TEST_CASE("max_pool2d forward on a hand-computed example", "[ops][max_pool2d]") {
    Tape tape;
    Tensor<float> x(Shape{1, 1, 4, 4}, {1, 5, 2, 0, 3, 4, 8, 7, -1, -2, -3, -4, -6, -5, -8, -7});
    auto y = max_pool2d(tape.constant(x), 2, 2);
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y.value()[0] == 5);
    CHECK(y.value()[1] == 8);
    CHECK(y.value()[2] == -1);
    CHECK(y.value()[3] == -3);
    // Padding is -infinity, not zero: an all-negative input keeps its own maxima.
    Tensor<float> neg(Shape{1, 1, 3, 3}, -5.0f);
    auto z = max_pool2d(tape.constant(neg), 3, 2, 1);
    REQUIRE(z.shape() == Shape{1, 1, 2, 2});
    for (index_t i = 0; i < 4; ++i) CHECK(z.value()[i] == -5.0f);
}

TEST_CASE("max_pool2d ties go to the first maximum in scan order", "[ops][max_pool2d]") {
    Tape tape;
    Tensor<double> x(Shape{1, 1, 3, 3}, 2.0);
    auto xv = tape.variable(x);
    auto y = max_pool2d(xv, 3, 2, 1);  // windows clipped to rows/cols {0,1}, {0,1}|{1,2}, ...
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    Tensor<double> seed(y.shape(), {1, 10, 100, 1000});
    tape.backward(y, seed.view());
    const std::vector<double> expected = {1, 10, 0, 100, 1000, 0, 0, 0, 0};
    for (index_t i = 0; i < 9; ++i) CHECK(xv.grad()[i] == expected[static_cast<std::size_t>(i)]);
}

TEST_CASE("max_pool2d propagates NaN", "[ops][max_pool2d]") {
    Tape tape;
    Tensor<float> x(Shape{1, 1, 2, 4}, {1, std::numeric_limits<float>::quiet_NaN(), 3, 4, 5, 6, 7, 8});
    auto y = max_pool2d(tape.constant(x), 2, 2);
    CHECK(std::isnan(y.value()[0]));
    CHECK(y.value()[1] == 8);
}

TEST_CASE("max_pool2d matches PyTorch fixtures in float and double", "[ops][max_pool2d][fixture]") {
    for (const char* file : {"max_pool2d_k3_s2_p1.txt", "max_pool2d_k2_s2.txt"}) {
        INFO(file);
        check_max_pool_fixture<float>(file, 1e-5);
        check_max_pool_fixture<double>(file, 1e-10);
    }
}

TEST_CASE("max_pool2d matches a direct loop on a large batch", "[ops][max_pool2d]") {
    const Tensor<double> x = random_tensor({6, 16, 31, 29}, 7);
    Tape tape;
    auto y = max_pool2d(tape.constant(x), 3, 2, 1);
    REQUIRE(y.shape() == Shape{6, 16, 16, 15});
    double worst = 0;
    for (index_t n = 0; n < 6; ++n)
        for (index_t c = 0; c < 16; ++c)
            for (index_t oh = 0; oh < 16; ++oh)
                for (index_t ow = 0; ow < 15; ++ow) {
                    double m = -INFINITY;
                    for (index_t h = 2 * oh - 1; h < 2 * oh + 2; ++h)
                        for (index_t w = 2 * ow - 1; w < 2 * ow + 2; ++w)
                            if (h >= 0 && h < 31 && w >= 0 && w < 29) m = std::max(m, x.at(n, c, h, w));
                    worst = std::max(worst, std::abs(m - y.value()[((n * 16 + c) * 16 + oh) * 15 + ow]));
                }
    CHECK(worst == 0.0);
}

TEST_CASE("max_pool2d backward passes gradcheck", "[ops][max_pool2d][gradcheck]") {
    auto pool = [](index_t k, index_t s, index_t p) {
        return [k, s, p](Tape&, const std::vector<Var<double>>& v) { return max_pool2d(v[0], k, s, p); };
    };
    auto x = random_tensor({3, 2, 7, 5}, 1), x9 = random_tensor({3, 2, 9, 9}, 2);
    CHECK(gradcheck(pool(3, 2, 1), {&x}).passed);
    CHECK(gradcheck(pool(2, 2, 0), {&x}).passed);
    CHECK(gradcheck(pool(3, 1, 1), {&x9}).passed);
    CHECK(gradcheck(pool(2, 1, 1), {&x9}).passed);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) { return add(max_pool2d(v[0], 3, 1, 1), v[0]); };
    CHECK(gradcheck(twice, {&x9}).passed);
}

TEST_CASE("max_pool2d rejects bad shapes and arguments with clear messages", "[ops][max_pool2d][errors]") {
    Tape tape;
    Tensor<float> x(Shape{2, 3, 7, 5}), x3(Shape{3, 7, 5});
    auto X = tape.constant(x);
    CHECK_THROWS_AS(max_pool2d(tape.constant(x3), 2, 2), ShapeError);
    CHECK_THROWS_WITH(max_pool2d(tape.constant(x3), 2, 2),
                      Catch::Contains("max_pool2d") && Catch::Contains("rank 4") && Catch::Contains("[3, 7, 5]"));
    CHECK_THROWS_AS(max_pool2d(X, 0, 1), ArgumentError);
    CHECK_THROWS_WITH(max_pool2d(X, 0, 1), Catch::Contains("kernel") && Catch::Contains("0"));
    CHECK_THROWS_AS(max_pool2d(X, 2, 0), ArgumentError);
    CHECK_THROWS_WITH(max_pool2d(X, 2, 0), Catch::Contains("stride"));
    CHECK_THROWS_AS(max_pool2d(X, 3, 2, 2), ArgumentError);
    CHECK_THROWS_WITH(max_pool2d(X, 3, 2, 2), Catch::Contains("padding") && Catch::Contains("kernel / 2 = 1"));
    CHECK_THROWS_AS(max_pool2d(X, 3, 2, -1), ArgumentError);
    CHECK_THROWS_AS(max_pool2d(X, 6, 1), ShapeError);
    CHECK_THROWS_WITH(max_pool2d(X, 6, 1), Catch::Contains("kernel 6") && Catch::Contains("7x5"));
}

TEST_CASE("max_pool2d's inference path (no gradient) equals the indexed path", "[ops][max_pool2d]") {
    // 11x9 planes go simd_block at a time (36 planes: two full blocks and a partial one), 41x27 planes one by one
    for (const Shape& shape : {Shape{3, 12, 11, 9}, Shape{2, 3, 41, 27}})
        for (Isa isa : test::available_isas()) {
            const test::IsaScope scope(isa);
            Tensor<float> x = random_tensor(shape, 21).cast<float>();
            const index_t hw = shape[2] * shape[3];
            x[5] = std::numeric_limits<float>::quiet_NaN();   // a NaN in the first row of the first plane
            x[hw + 40] = -std::numeric_limits<float>::infinity();
            for (index_t i = 200; i < 260; ++i) x[i] = 0.0f;   // ties
            x[(shape[0] * shape[1] - 1) * hw + 3] = std::numeric_limits<float>::quiet_NaN();  // in the last plane
            for (index_t k : {1, 2, 3, 4})
                for (index_t s : {1, 2, 3})
                    for (index_t p = 0; p <= k / 2; ++p) {
                        Tape tape;
                        const Var<float> fast = max_pool2d(tape.constant(x), k, s, p);
                        const Var<float> indexed = max_pool2d(tape.variable(x), k, s, p);  // records winner indices
                        INFO("shape " << shape << " isa " << isa_name(isa) << " kernel " << k << " stride " << s
                                      << " padding " << p);
                        REQUIRE(fast.shape() == indexed.shape());
                        bool same = true;
                        for (index_t i = 0; i < fast.numel(); ++i) {
                            const float a = fast.value()[i], b = indexed.value()[i];
                            same = same && ((std::isnan(a) && std::isnan(b)) || a == b);
                        }
                        CHECK(same);
                    }
        }
}

namespace {

/// PyTorch's CPU rule written out per window: the first maximum in row-major scan order or the last NaN, the
/// first in-bounds cell when every cell is -infinity. Returns the winners' plane indices, output by output.
template <class T>
std::vector<index_t> reference_winners(const Tensor<T>& x, index_t k, index_t s, index_t p, std::vector<T>& values) {
    const index_t planes = x.dim(0) * x.dim(1), H = x.dim(2), W = x.dim(3);
    const index_t Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
    std::vector<index_t> winners;
    values.clear();
    for (index_t pl = 0; pl < planes; ++pl)
        for (index_t oh = 0; oh < Ho; ++oh)
            for (index_t ow = 0; ow < Wo; ++ow) {
                const index_t h0 = std::max<index_t>(oh * s - p, 0), w0 = std::max<index_t>(ow * s - p, 0);
                index_t at = h0 * W + w0;
                T best = -std::numeric_limits<T>::infinity();
                for (index_t h = h0; h < std::min(oh * s - p + k, H); ++h)
                    for (index_t w = w0; w < std::min(ow * s - p + k, W); ++w) {
                        const T v = x[pl * H * W + h * W + w];
                        if (v > best || std::isnan(v)) {
                            best = v;
                            at = h * W + w;
                        }
                    }
                winners.push_back(pl * H * W + at);
                values.push_back(best);
            }
    return winners;
}

/// Values and winners (through the gradient: output o seeds 1 + o, routed to its winner) of the training path
/// against reference_winners, over kernels 1-4, strides 1-3, every legal padding, on planes with NaNs,
/// -infinity, runs of ties (zeros, as after a ReLU) and an all -infinity corner.
template <class T>
void check_indexed_path(index_t C, index_t H, index_t W) {
    Tensor<T> x = random_tensor({2, C, H, W}, 31).cast<T>();
    const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
    x[3] = nan;
    x[H * W + 2 * W + 1] = nan;
    x[H * W + 2 * W + 2] = nan;  // two NaNs in one window: the last wins
    for (index_t i = 2 * H * W; i < 2 * H * W + 2 * W + 3; ++i) x[i] = T(0);  // ties
    for (index_t i = 3 * H * W; i < 3 * H * W + 2 * W; ++i) x[i] = -inf;      // windows of -infinity only
    x[4 * H * W + W + 1] = inf;
    x[(2 * C - 1) * H * W + W] = nan;  // in the last plane
    for (index_t k : {1, 2, 3, 4})
        for (index_t s : {1, 2, 3})
            for (index_t p = 0; p <= k / 2; ++p) {
                if (k > H + 2 * p || k > W + 2 * p) continue;
                INFO(2 * C << " planes of " << H << "x" << W << " kernel " << k << " stride " << s << " padding " << p);
                Tape tape;
                Var<T> xv = tape.variable(x);
                Var<T> y = max_pool2d(xv, k, s, p);
                Tensor<T> seed(y.shape());
                for (index_t o = 0; o < seed.numel(); ++o) seed[o] = T(1 + o);
                tape.backward(y, seed.view());
                std::vector<T> values;
                const std::vector<index_t> winners = reference_winners(x, k, s, p, values);
                REQUIRE(static_cast<index_t>(winners.size()) == y.numel());
                Tensor<T> expected_grad(x.shape(), T(0));
                for (std::size_t o = 0; o < winners.size(); ++o) expected_grad[winners[o]] += T(1 + o);
                index_t wrong_values = 0, wrong_grads = 0;
                for (index_t o = 0; o < y.numel(); ++o) {
                    const T a = y.value()[o], b = values[static_cast<std::size_t>(o)];
                    wrong_values += !((std::isnan(a) && std::isnan(b)) || a == b);
                }
                for (index_t i = 0; i < x.numel(); ++i) wrong_grads += xv.grad()[i] != expected_grad[i];
                CHECK(wrong_values == 0);
                CHECK(wrong_grads == 0);
            }
}

}  // namespace

TEST_CASE("max_pool2d's training path picks PyTorch's winner on every geometry", "[ops][max_pool2d]") {
    // Planes of up to detail::max_pool_lanes_max_plane elements go simd_block at a time (19 channels: two full
    // blocks of 16 planes and one of 6), larger ones one by one; on every kernel family.
    for (Isa isa : test::available_isas()) {
        const test::IsaScope scope(isa);
        INFO("isa " << isa_name(isa));
        for (auto [h, w] : {std::pair<index_t, index_t>{14, 14}, {7, 9}, {5, 4}, {3, 3}, {2, 6}, {33, 40}}) {
            check_indexed_path<float>(3, h, w);
            check_indexed_path<double>(3, h, w);
        }
        check_indexed_path<float>(19, 14, 14);
        check_indexed_path<double>(19, 7, 9);
    }
}
