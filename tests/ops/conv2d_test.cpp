#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/conv2d.hpp"
#include "strata/ops/mul.hpp"
#include "strata/ops/sum.hpp"
#include "support/fixture.hpp"
#include "support/isa_scope.hpp"

using namespace strata;
using strata::test::random_tensor;

namespace {

/// Direct 7-loop convolution with its three gradients, the reference for the im2col/GEMM implementation.
struct NaiveConv {
    Tensor<double> y, dx, dw, db;
    NaiveConv(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>* b, index_t s, index_t p,
              const Tensor<double>* dy) {
        const index_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
        const index_t F = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        const index_t Ho = (H + 2 * p - kh) / s + 1, Wo = (W + 2 * p - kw) / s + 1;
        y = Tensor<double>(Shape{N, F, Ho, Wo});
        dx = Tensor<double>(x.shape());
        dw = Tensor<double>(w.shape());
        db = Tensor<double>(Shape{F});
        auto X = [&](index_t n, index_t c, index_t h, index_t w_) { return ((n * C + c) * H + h) * W + w_; };
        auto K = [&](index_t f, index_t c, index_t i, index_t j) { return ((f * C + c) * kh + i) * kw + j; };
        for (index_t n = 0; n < N; ++n)
            for (index_t f = 0; f < F; ++f)
                for (index_t oh = 0; oh < Ho; ++oh)
                    for (index_t ow = 0; ow < Wo; ++ow) {
                        double acc = b ? (*b)[f] : 0.0;
                        const index_t o = ((n * F + f) * Ho + oh) * Wo + ow;
                        const double g = dy ? (*dy)[o] : 0.0;
                        db[f] += g;
                        for (index_t c = 0; c < C; ++c)
                            for (index_t i = 0; i < kh; ++i)
                                for (index_t j = 0; j < kw; ++j) {
                                    const index_t ih = oh * s - p + i, iw = ow * s - p + j;
                                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                    acc += x[X(n, c, ih, iw)] * w[K(f, c, i, j)];
                                    dx[X(n, c, ih, iw)] += g * w[K(f, c, i, j)];
                                    dw[K(f, c, i, j)] += g * x[X(n, c, ih, iw)];
                                }
                        y[o] = acc;
                    }
    }
};

/// Runs conv2d forward and backward (seeded with `dy`) in T on copies of the inputs.
template <class T>
struct ConvRun {
    Tensor<T> y, dx, dw, db;
    /// `poison`: the tape's arena first holds NaN, so scratch read before it is written shows in the results.
    ConvRun(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>* b, Conv2dParams p,
            const Tensor<double>& dy, bool poison = false) {
        Tape tape;
        if (poison) {
            const index_t n = 8 * (x.numel() + dy.numel() + w.numel()) + (index_t{1} << 16);
            std::fill_n(tape.buffer<double>(n), n, std::numeric_limits<double>::quiet_NaN());
            tape.rewind();
        }
        const Tensor<T> xt = x.cast<T>(), wt = w.cast<T>(), dyt = dy.cast<T>();
        Tensor<T> bt = b ? b->cast<T>() : Tensor<T>();
        Var<T> xv = tape.variable(xt), wv = tape.variable(wt);
        Var<T> bv = b ? tape.variable(bt) : Var<T>();
        Var<T> out = conv2d(xv, wv, bv, p);
        tape.backward(out, dyt.view());
        y = out.to_tensor();
        dx = Tensor<T>::from(xv.grad());
        dw = Tensor<T>::from(wv.grad());
        if (b) db = Tensor<T>::from(bv.grad());
    }
};

template <class T>
void check_conv_fixture(const std::string& file, double tol) {
    const test::Fixture fx(file);
    const bool bias = fx.has("bias");
    const Tensor<double> x = fx.get("input"), w = fx.get("weight"), dy = fx.get("grad_output");
    const Tensor<double> b = bias ? fx.get("bias") : Tensor<double>();
    const Conv2dParams p{static_cast<index_t>(fx.scalar("stride")), static_cast<index_t>(fx.scalar("padding"))};
    const ConvRun<T> r(x, w, bias ? &b : nullptr, p, dy);
    CHECK(test::max_rel_diff(r.y, fx.get("output")) < tol);
    CHECK(test::max_rel_diff(r.dx, fx.get("grad_input")) < tol);
    CHECK(test::max_rel_diff(r.dw, fx.get("grad_weight")) < tol);
    if (bias) CHECK(test::max_rel_diff(r.db, fx.get("grad_bias")) < tol);
}

const char* const conv_fixtures[] = {"conv2d_k3_s2_p1_bias.txt", "conv2d_k3_s1_p1_bias.txt",
                                     "conv2d_k1_s2_nobias.txt", "conv2d_k7_s2_p3_stem.txt",
                                     "conv2d_k2x3_nonsquare.txt"};

}  // namespace

TEST_CASE("conv2d forward on a hand-computed example", "[ops][conv2d]") {
    Tape tape;
    Tensor<float> x(Shape{1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    Tensor<float> w(Shape{1, 1, 2, 2}, {1, 1, 1, 1});
    Tensor<float> b(Shape{1}, {0.5f});
    auto y = conv2d(tape.constant(x), tape.constant(w), tape.constant(b));
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y.value()[0] == 12.5f);
    CHECK(y.value()[1] == 16.5f);
    CHECK(y.value()[2] == 24.5f);
    CHECK(y.value()[3] == 28.5f);
    // padding 1, stride 2: windows with top-left corners (-1,-1), (-1,1), (1,-1), (1,1) -> 1, 2+3, 4+7, 5+6+8+9
    auto z = conv2d(tape.constant(x), tape.constant(w), Conv2dParams{2, 1});
    REQUIRE(z.shape() == Shape{1, 1, 2, 2});
    CHECK(z.value()[0] == 1.0f);
    CHECK(z.value()[1] == 5.0f);
    CHECK(z.value()[2] == 11.0f);
    CHECK(z.value()[3] == 28.0f);
}

TEST_CASE("im2col and col2im are adjoint, and im2col reads the right cells", "[ops][conv2d][im2col]") {
    for (const strata::detail::Window2d& g : {strata::detail::Window2d(2, 7, 5, 3, 2, 2, 1), strata::detail::Window2d(3, 4, 6, 3, 3, 1, 2),
                                      strata::detail::Window2d(2, 1, 1, 3, 3, 1, 1), strata::detail::Window2d(1, 5, 5, 2, 2, 3, 0),
                                      // stride 1 on rows of 12+ positions: unfolded by rows, not by the table
                                      strata::detail::Window2d(2, 14, 13, 3, 3, 1, 1), strata::detail::Window2d(2, 6, 16, 3, 2, 1, 0)}) {
        std::vector<std::int32_t> table(static_cast<std::size_t>(strata::detail::Im2colPlan::storage_size(g)));
        const strata::detail::Im2colPlan plan(g, table.data());
        const index_t K = plan.rows(), P = g.col_cols(), ld = P + 3;
        Tensor<double> img = random_tensor({g.channels, g.height, g.width}, 11), c = random_tensor({K, ld}, 12);
        Tensor<double> col(Shape{K, ld}), back(Shape{g.channels, g.height, g.width});
        std::vector<double> padded(static_cast<std::size_t>(plan.padded_size()) + 1);
        strata::detail::im2col(img.data(), plan, padded.data(), col.data(), ld);
        strata::detail::col2im(c.data(), ld, plan, padded.data(), back.data());
        double lhs = 0, rhs = 0, worst = 0;
        index_t zero_rows = 0;
        for (index_t ch = 0; ch < g.channels; ++ch)
            for (index_t a = 0; a < plan.taps; ++a) {
                const index_t i = plan.tap_ids[a] / g.kernel_w, j = plan.tap_ids[a] % g.kernel_w;
                const index_t r = ch * plan.taps + a;
                bool any = false;
                for (index_t q = 0; q < P; ++q) {
                    lhs += col.at(r, q) * c.at(r, q);
                    const index_t h = q / g.out_w * g.stride - g.padding + i;
                    const index_t w = q % g.out_w * g.stride - g.padding + j;
                    const bool inside = h >= 0 && h < g.height && w >= 0 && w < g.width;
                    any = any || inside;
                    worst = std::max(worst, std::abs(col.at(r, q) - (inside ? img.at(ch, h, w) : 0.0)));
                }
                zero_rows += any ? 0 : 1;
            }
        for (index_t i = 0; i < img.numel(); ++i) rhs += img[i] * back[i];
        INFO("kernel " << g.kernel_h << "x" << g.kernel_w << " on " << g.height << "x" << g.width);
        CHECK(worst == 0.0);
        CHECK(zero_rows == 0);  // inactive taps are left out, active ones all reach the image
        CHECK(lhs == Approx(rhs).epsilon(1e-12));
    }
    CHECK(strata::detail::unfold_by_rows(strata::detail::Window2d(2, 14, 13, 3, 3, 1, 1)));  // both paths are covered
    CHECK(!strata::detail::unfold_by_rows(strata::detail::Window2d(3, 4, 6, 3, 3, 1, 2)));
    std::vector<std::int32_t> table(strata::detail::Im2colPlan::storage_size(strata::detail::Window2d(2, 1, 1, 3, 3, 1, 1)));
    CHECK(strata::detail::Im2colPlan(strata::detail::Window2d(2, 1, 1, 3, 3, 1, 1), table.data()).taps == 1);  // centre only
}

TEST_CASE("conv2d matches a direct convolution, forward and backward, on every ISA", "[ops][conv2d][isa]") {
    struct Case {
        Shape x, w;
        index_t stride, padding;
        bool bias;
    };
    // Small maps with many samples exercise the grouped GEMMs; 1x1 stride 1 uses the input as its own column.
    const std::vector<Case> cases = {
        {{3, 2, 9, 9}, {3, 2, 3, 3}, 1, 1, true},  {{5, 3, 7, 5}, {4, 3, 3, 3}, 2, 1, false},
        {{20, 4, 2, 2}, {6, 4, 3, 3}, 1, 1, true}, {{17, 3, 3, 3}, {5, 3, 1, 1}, 1, 0, true},
        {{4, 3, 5, 4}, {5, 3, 1, 1}, 1, 0, false}, {{9, 2, 11, 10}, {3, 2, 7, 7}, 2, 3, false},
        {{6, 3, 1, 1}, {2, 3, 1, 1}, 2, 0, true},  {{3, 2, 6, 7}, {2, 2, 2, 3}, 1, 2, true},
        {{5, 4, 1, 1}, {3, 4, 3, 3}, 1, 1, true},  {{4, 3, 2, 2}, {5, 3, 3, 3}, 2, 1, false},
        {{2, 2, 1, 1}, {3, 2, 1, 1}, 5, 2, true},  // the only window sees padding alone: output = bias
        {{2, 3, 13, 14}, {4, 3, 3, 3}, 1, 1, true},  {{3, 2, 5, 16}, {3, 2, 2, 3}, 1, 0, false},  // by rows
        {{2, 2, 30, 40}, {3, 2, 3, 3}, 1, 1, false},  // more columns than one GEMM column block
        {{2, 2, 6, 6}, {200, 2, 3, 3}, 1, 1, true},   // more output channels than one GEMM row block
    };
    std::uint64_t seed = 100;
    for (const Case& k : cases) {
        const Tensor<double> x = random_tensor(k.x, ++seed), w = random_tensor(k.w, ++seed);
        const Tensor<double> b = random_tensor({k.w[0]}, ++seed);
        const NaiveConv probe(x, w, nullptr, k.stride, k.padding, nullptr);
        const Tensor<double> dy = random_tensor(probe.y.shape(), ++seed);
        const NaiveConv ref(x, w, k.bias ? &b : nullptr, k.stride, k.padding, &dy);
        INFO("input " << k.x << " weight " << k.w << " stride " << k.stride << " padding " << k.padding);
        for (const Isa isa : test::available_isas()) {  // im2col + GEMM (generic), implicit GEMM (packed kernels)
            test::IsaScope scope(isa);
            INFO("isa " << isa_name(isa));
            const ConvRun<double> got(x, w, k.bias ? &b : nullptr, {k.stride, k.padding}, dy);
            CHECK(test::max_rel_diff(got.y, ref.y) < 1e-12);
            CHECK(test::max_rel_diff(got.dx, ref.dx) < 1e-12);
            CHECK(test::max_rel_diff(got.dw, ref.dw) < 1e-12);
            if (k.bias) CHECK(test::max_rel_diff(got.db, ref.db) < 1e-12);
            const ConvRun<float> single(x, w, k.bias ? &b : nullptr, {k.stride, k.padding}, dy);
            CHECK(test::max_rel_diff(single.y, ref.y) < 1e-5);
            CHECK(test::max_rel_diff(single.dx, ref.dx) < 1e-5);
            CHECK(test::max_rel_diff(single.dw, ref.dw) < 1e-5);
        }
    }
}

TEST_CASE("conv2d's direct 3x3 path matches the reference on every ISA and thread count", "[ops][conv2d][isa]") {
    // 3x3, stride 1, padding 1, maps at least detail::conv_direct_min_width wide: the forward and the input
    // gradient read the padded images in place on the row grid, the weight gradient sums dot products of rows.
    // Output channels that fill no whole register tile (5, 13), grids that end inside a tile (8x8: 80 positions,
    // 11x17: 209), one input channel (a net's stem), and samples large enough that the weight gradient goes
    // one sample per chunk (24 channels on 30x30). The arena is poisoned first: the padded images' tails, read for
    // the dropped columns, must be zeros, not what the memory held.
    struct Case {
        Shape x;
        index_t cout;
    };
    const Case cases[] = {{{4, 3, 8, 8}, 5}, {{3, 5, 11, 17}, 13}, {{5, 1, 9, 12}, 16}, {{6, 24, 30, 30}, 8}};
    std::uint64_t seed = 700;
    for (const Case& k : cases) {
        REQUIRE(k.x[3] >= detail::conv_direct_min_width);
        const Shape ws{k.cout, k.x[1], 3, 3};
        const Tensor<double> x = random_tensor(k.x, ++seed), w = random_tensor(ws, ++seed);
        const Tensor<double> b = random_tensor({k.cout}, ++seed);
        const Tensor<double> dy = random_tensor({k.x[0], k.cout, k.x[2], k.x[3]}, ++seed);
        const NaiveConv ref(x, w, &b, 1, 1, &dy);
        for (const Isa isa : test::available_isas()) {
            const test::IsaScope scope(isa);
            for (const int threads : {1, 2}) {
                INFO("input " << k.x << ", " << k.cout << " output channels, isa " << isa_name(isa) << ", threads "
                              << threads);
#ifdef _OPENMP
                const int saved = omp_get_max_threads();
                omp_set_num_threads(threads);
#endif
                const ConvRun<double> got(x, w, &b, {1, 1}, dy, true);
                const ConvRun<float> single(x, w, &b, {1, 1}, dy, true);
#ifdef _OPENMP
                omp_set_num_threads(saved);
#endif
                CHECK(test::max_rel_diff(got.y, ref.y) < 1e-12);
                CHECK(test::max_rel_diff(got.dx, ref.dx) < 1e-12);
                CHECK(test::max_rel_diff(got.dw, ref.dw) < 1e-12);
                CHECK(test::max_rel_diff(got.db, ref.db) < 1e-12);
                CHECK(test::max_rel_diff(single.y, ref.y) < 1e-5);
                CHECK(test::max_rel_diff(single.dx, ref.dx) < 1e-5);
                CHECK(test::max_rel_diff(single.dw, ref.dw) < 1e-5);
            }
        }
    }
}

TEST_CASE("conv2d matches PyTorch fixtures in float and double", "[ops][conv2d][fixture]") {
    for (const char* file : conv_fixtures) {
        INFO(file);
        check_conv_fixture<float>(file, 1e-5);
        check_conv_fixture<double>(file, 1e-10);
    }
}

TEST_CASE("conv2d backward passes gradcheck", "[ops][conv2d][gradcheck]") {
    auto with_bias = [](Conv2dParams p) {
        return [p](Tape&, const std::vector<Var<double>>& v) { return conv2d(v[0], v[1], v[2], p); };
    };
    auto without_bias = [](Conv2dParams p) {
        return [p](Tape&, const std::vector<Var<double>>& v) { return conv2d(v[0], v[1], p); };
    };
    SECTION("3x3 stride 1 padding 1 on 9x9, batch 3, bias") {
        auto x = random_tensor({3, 2, 9, 9}, 1), w = random_tensor({3, 2, 3, 3}, 2), b = random_tensor({3}, 3);
        CHECK(gradcheck(with_bias({1, 1}), {&x, &w, &b}).passed);
    }
    SECTION("3x3 stride 2 padding 1 on 7x5, batch 3, no bias") {
        auto x = random_tensor({3, 2, 7, 5}, 4), w = random_tensor({4, 2, 3, 3}, 5);
        CHECK(gradcheck(without_bias({2, 1}), {&x, &w}).passed);
    }
    SECTION("1x1 stride 1 and 1x1 stride 2, with and without bias") {
        auto x = random_tensor({3, 3, 5, 4}, 6), w = random_tensor({2, 3, 1, 1}, 7), b = random_tensor({2}, 8);
        CHECK(gradcheck(with_bias({1, 0}), {&x, &w, &b}).passed);
        CHECK(gradcheck(without_bias({2, 0}), {&x, &w}).passed);
    }
    SECTION("7x7 stride 2 padding 3 (stem) and a 2x3 kernel") {
        auto x = random_tensor({3, 1, 9, 9}, 9), w = random_tensor({2, 1, 7, 7}, 10);
        CHECK(gradcheck(without_bias({2, 3}), {&x, &w}).passed);
        auto x2 = random_tensor({2, 2, 5, 6}, 11), w2 = random_tensor({2, 2, 2, 3}, 12), b2 = random_tensor({2}, 13);
        CHECK(gradcheck(with_bias({1, 1}), {&x2, &w2, &b2}).passed);
    }
    SECTION("small maps, grouped samples and skipped taps (2x2 and 1x1 maps, batch 5)") {
        auto x = random_tensor({5, 3, 2, 2}, 14), w = random_tensor({4, 3, 3, 3}, 15), b = random_tensor({4}, 16);
        CHECK(gradcheck(with_bias({1, 1}), {&x, &w, &b}).passed);
        CHECK(gradcheck(with_bias({2, 1}), {&x, &w, &b}).passed);
        auto x1 = random_tensor({5, 3, 1, 1}, 41);
        CHECK(gradcheck(with_bias({1, 1}), {&x1, &w, &b}).passed);
    }
    SECTION("input used twice: conv2d(x, w) + x, and the weight used twice") {
        auto x = random_tensor({3, 2, 7, 5}, 17), w = random_tensor({2, 2, 3, 3}, 18), b = random_tensor({2}, 19);
        auto residual = [](Tape&, const std::vector<Var<double>>& v) {
            return add(conv2d(v[0], v[1], v[2], {1, 1}), v[0]);
        };
        CHECK(gradcheck(residual, {&x, &w, &b}).passed);
        auto twice = [](Tape&, const std::vector<Var<double>>& v) {
            return conv2d(conv2d(v[0], v[1], {1, 1}), v[1], {2, 1});
        };
        CHECK(gradcheck(twice, {&x, &w}).passed);
    }
    SECTION("chained stride-1 convolutions and a projection of the same input (a residual block's pattern)") {
        // The intermediate's gradient buffer is made inside the outer convolution's backward, and the input's
        // inside the first of its two convolutions' backwards: neither may come from an op's scratch.
        auto x = random_tensor({3, 2, 6, 5}, 20), w = random_tensor({3, 2, 3, 3}, 21);
        auto w2 = random_tensor({2, 3, 3, 3}, 22), p = random_tensor({2, 2, 1, 1}, 23);
        auto block = [](Tape&, const std::vector<Var<double>>& v) {
            return add(conv2d(conv2d(v[0], v[1], {1, 1}), v[2], {1, 1}), conv2d(v[0], v[3], {1, 0}));
        };
        CHECK(gradcheck(block, {&x, &w, &w2, &p}).passed);
    }
}

TEST_CASE("conv2d gradients reach only the operands that require them", "[ops][conv2d]") {
    Tape tape;
    const Tensor<double> x = random_tensor({2, 2, 5, 5}, 21), w = random_tensor({3, 2, 3, 3}, 22);
    Parameter<double> wp(w.clone());
    auto y = conv2d(tape.constant(x), tape.parameter(wp), Conv2dParams{1, 1});
    REQUIRE(y.requires_grad());
    Tensor<double> seed(y.shape(), 1.0);
    tape.backward(y, seed.view());
    const NaiveConv ref(x, w, nullptr, 1, 1, &seed);
    CHECK(test::max_rel_diff(wp.grad(), ref.dw) < 1e-12);

    Tape t2;
    {
        NoGradGuard guard(t2);
        auto z = conv2d(t2.variable(x), t2.variable(w), Conv2dParams{1, 1});
        CHECK_FALSE(z.requires_grad());
        CHECK(t2.node_count() == 0);
        CHECK(test::max_rel_diff(z.to_tensor(), ref.y) < 1e-12);
    }
}

TEST_CASE("conv2d adds its input gradient to one that is already there", "[ops][conv2d]") {
    // x feeds two convolutions: the second backward adds to the input gradient the first wrote, on large maps
    // (finished row by row), small ones grouped several samples per GEMM (finished sample by sample, gathered),
    // and 1x1 maps (only the centre tap active: the column-matrix path).
    for (const Shape& xs : {Shape{4, 8, 12, 12}, Shape{16, 16, 3, 3}, Shape{16, 16, 2, 2}, Shape{32, 16, 1, 1}}) {
        INFO("input " << xs);
        const Shape ws{xs[1], xs[1], 3, 3};
        const Tensor<double> x = random_tensor(xs, 51), w1 = random_tensor(ws, 52), w2 = random_tensor(ws, 53);
        const Tensor<double> dy1 = random_tensor(xs, 54), dy2 = random_tensor(xs, 55);
        const NaiveConv ref1(x, w1, nullptr, 1, 1, &dy1), ref2(x, w2, nullptr, 1, 1, &dy2);
        for (Isa isa : test::available_isas()) {
            INFO("isa " << isa_name(isa));
            const test::IsaScope scope(isa);
            Tape tape;
            Var<double> xv = tape.variable(x);
            Var<double> y1 = conv2d(xv, tape.constant(w1), {1, 1});
            Var<double> y2 = conv2d(xv, tape.constant(w2), {1, 1});
            add(sum(mul(y1, tape.constant(dy1))), sum(mul(y2, tape.constant(dy2)))).backward();
            Tensor<double> expected(xs);
            for (index_t i = 0; i < expected.numel(); ++i) expected[i] = ref1.dx[i] + ref2.dx[i];
            CHECK(test::max_rel_diff(Tensor<double>::from(xv.grad()), expected) < 1e-12);
        }
    }
}

#ifdef _OPENMP
TEST_CASE("conv2d gives the same results with one and two threads", "[ops][conv2d][openmp]") {
    struct Case {
        Shape x, w;
    };
    // Big enough to run in parallel: 12x12 maps one sample per GEMM, 3x3 maps grouped 8 samples per GEMM, 1x1
    // maps (only the centre tap sees the input: the partial weight gradients are added tap by tap).
    for (const Case& k : {Case{{4, 16, 12, 12}, {16, 16, 3, 3}}, Case{{16, 32, 3, 3}, {32, 32, 3, 3}},
                          Case{{64, 128, 1, 1}, {128, 128, 3, 3}}}) {
        INFO("input " << k.x << " weight " << k.w);
        const Tensor<double> x = random_tensor(k.x, 31), w = random_tensor(k.w, 32), b = random_tensor({k.w[0]}, 33);
        const Tensor<double> dy = random_tensor({k.x[0], k.w[0], k.x[2], k.x[3]}, 34);
        const NaiveConv ref(x, w, &b, 1, 1, &dy);
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        const ConvRun<double> one(x, w, &b, {1, 1}, dy);
        omp_set_num_threads(2);
        const ConvRun<double> two(x, w, &b, {1, 1}, dy);
        const ConvRun<double> again(x, w, &b, {1, 1}, dy);
        omp_set_num_threads(saved);
        for (const ConvRun<double>* r : {&one, &two}) {
            CHECK(test::max_rel_diff(r->y, ref.y) < 1e-12);
            CHECK(test::max_rel_diff(r->dx, ref.dx) < 1e-12);
            CHECK(test::max_rel_diff(r->dw, ref.dw) < 1e-12);
            CHECK(test::max_rel_diff(r->db, ref.db) < 1e-12);
        }
        CHECK(test::max_abs_diff(again.dw, two.dw) == 0.0);  // deterministic for a given thread count
        CHECK(test::max_abs_diff(again.dx, two.dx) == 0.0);
    }
}

TEST_CASE("conv2d on two threads adds its weight gradient to one that is already there", "[ops][conv2d][openmp]") {
    // One weight in two convolutions: the second backward adds to the gradient the first wrote. Each thread's
    // partial gradient is written by its first chunk and must not leak into, or replace, what dw holds.
    for (const Shape& xs : {Shape{8, 16, 12, 12}, Shape{64, 128, 1, 1}}) {
        INFO("input " << xs);
        const Shape ws{xs[1], xs[1], 3, 3};
        const Tensor<double> x1 = random_tensor(xs, 41), x2 = random_tensor(xs, 42), w = random_tensor(ws, 43);
        const Tensor<double> dy1 = random_tensor(xs, 44), dy2 = random_tensor(xs, 45);
        const NaiveConv ref1(x1, w, nullptr, 1, 1, &dy1), ref2(x2, w, nullptr, 1, 1, &dy2);
        const int saved = omp_get_max_threads();
        omp_set_num_threads(2);
        Tape tape;
        Var<double> wv = tape.variable(w);
        Var<double> y1 = conv2d(tape.constant(x1), wv, {1, 1}), y2 = conv2d(tape.constant(x2), wv, {1, 1});
        Var<double> loss = add(sum(mul(y1, tape.constant(dy1))), sum(mul(y2, tape.constant(dy2))));
        loss.backward();
        omp_set_num_threads(saved);
        Tensor<double> expected(ws);
        for (index_t i = 0; i < expected.numel(); ++i) expected[i] = ref1.dw[i] + ref2.dw[i];
        CHECK(test::max_rel_diff(Tensor<double>::from(wv.grad()), expected) < 1e-12);
    }
}
#endif

TEST_CASE("conv2d's batch split fills whole register tiles and never does worse than the least group",
          "[ops][conv2d]") {
    using strata::detail::ConvBatchPlan;
    auto tiles = [](index_t cols) {
        return (cols + ConvBatchPlan::tile_cols - 1) / ConvBatchPlan::tile_cols * ConvBatchPlan::tile_cols;
    };
#ifdef _OPENMP
    const int saved = omp_get_max_threads();
    const std::vector<int> thread_counts{1, 2, 3};
#else
    const std::vector<int> thread_counts{1};
#endif
    for (int threads : thread_counts) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        for (index_t positions : {1, 4, 16, 49, 64, 100, 196, 784}) {
            for (index_t batch : {1, 5, 16, 64, 256}) {
                INFO(threads << " threads, " << positions << " positions, batch " << batch);
                // One sample per chunk: each thread's share of the samples, each sample a whole number of tiles.
                CHECK(ConvBatchPlan::busiest_thread_columns(batch, 1, positions, threads) ==
                      (batch + threads - 1) / threads * tiles(positions));
                const ConvBatchPlan plan(batch, positions, 1e12);
                // The least group that reaches 128 columns (what the plan chose before it weighed the tiles).
                const index_t per_thread = (batch + threads - 1) / threads;
                const index_t least = std::max<index_t>(1, std::min((128 + positions - 1) / positions, per_thread));
                CHECK(plan.group >= least);
                CHECK(plan.group <= std::max(least, std::min(4 * least, per_thread)));
                CHECK(plan.chunks == (batch + plan.group - 1) / plan.group);
                CHECK(plan.threads == std::min<index_t>(threads, plan.chunks));
                const index_t cost = ConvBatchPlan::busiest_thread_columns(batch, plan.group, positions, threads);
                CHECK(cost <= ConvBatchPlan::busiest_thread_columns(batch, least, positions, threads));
                CHECK(cost >= (batch * positions + threads - 1) / threads);  // at least its share of the columns
            }
        }
    }
    // ResNet-18's layer 1 at batch 64 (7x7 maps): the least group, 3 samples, fills 147 of 160 columns, so the
    // busiest thread computes 9% (1 thread) or 12% (2 threads: 11 chunks of 3 samples) more columns than it needs.
    for (int threads : thread_counts) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        const ConvBatchPlan plan(64, 49, 1e12);
        INFO(threads << " threads: group " << plan.group);
        const index_t cost = ConvBatchPlan::busiest_thread_columns(64, plan.group, 49, plan.threads);
        CHECK(static_cast<double>(cost) <= 1.05 * static_cast<double>((64 + plan.threads - 1) / plan.threads * 49));
    }
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
}

TEST_CASE("tap classes group a small map's positions by the kernel taps that read real input", "[ops][conv2d]") {
    std::vector<std::int32_t> storage;
    auto classes_of = [&](const strata::detail::Window2d& g) {
        storage.assign(static_cast<std::size_t>(strata::detail::Im2colPlan::storage_size(g)), 0);
        const strata::detail::Im2colPlan plan(g, storage.data());
        return std::make_pair(strata::detail::ConvTapClasses(plan), plan.taps);
    };
    // 2x2, 3x3 kernel, padding 1: each position reads through its own 2x2 block of taps, 4 of 9.
    const auto [two, two_taps] = classes_of(strata::detail::Window2d(8, 2, 2, 3, 3, 1, 1));
    REQUIRE(two.usable);
    CHECK(two_taps == 9);
    CHECK(two.count() == 4);
    CHECK(two.useful == Approx(4.0 / 9.0));
    index_t positions = 0;
    std::vector<int> seen(4, 0);
    for (int r = 0; r < two.n_rows; ++r)
        for (int c = 0; c < two.n_cols; ++c) {
            CHECK(two.taps(r, c) == 4);
            for (index_t q = 0; q < two.positions(r, c); ++q) ++seen[static_cast<std::size_t>(two.position(r, c, q, 2))];
            positions += two.positions(r, c);
        }
    CHECK(positions == 4);
    CHECK(seen == std::vector<int>{1, 1, 1, 1});
    // 4x4: rows 0 | 1, 2 | 3 (2, 3 and 2 valid kernel rows): 9 classes, (2.5 / 3)^2 of the work is real.
    const auto [four, four_taps] = classes_of(strata::detail::Window2d(8, 4, 4, 3, 3, 1, 1));
    REQUIRE(four.usable);
    CHECK(four.count() == 9);
    CHECK(four.useful == Approx((10.0 / 12.0) * (10.0 / 12.0)));
    // No padding: one class, all of it real.
    const auto [plain, plain_taps] = classes_of(strata::detail::Window2d(8, 6, 6, 3, 3, 1, 0));
    CHECK(plain.count() == 1);
    CHECK(plain.useful == 1.0);
    (void)plain_taps;
    (void)four_taps;
}

TEST_CASE("conv2d's inference on small maps (one GEMM per tap class) matches the reference on every ISA",
          "[ops][conv2d][isa]") {
    struct Case {
        Shape x, w;
        index_t stride, padding;
    };
    // Maps where a quarter or more of an all-taps GEMM would multiply padding: 2x2, 3x3 and 4x4 at stride 1,
    // 7x7 -> 4x4 and 4x4 -> 2x2 at stride 2, a 5x5 kernel on 3x4, and a batch of more than one block of samples
    // (detail::conv_class_block_samples), two with enough work to share the classes out among two threads, and two
    // with fewer classes than four threads, which share each class's columns.
    // Every batch gives the smallest class at least detail::conv_class_min_columns columns.
    const Case cases[] = {{{32, 16, 2, 2}, {24, 16, 3, 3}, 1, 1}, {{33, 8, 3, 3}, {16, 8, 3, 3}, 1, 1},
                          {{32, 8, 4, 4}, {8, 8, 3, 3}, 1, 1},    {{32, 8, 7, 7}, {16, 8, 3, 3}, 2, 1},
                          {{32, 8, 4, 4}, {16, 8, 3, 3}, 2, 1},   {{32, 4, 3, 4}, {8, 4, 5, 5}, 1, 2},
                          {{300, 4, 2, 2}, {8, 4, 3, 3}, 1, 1},
                          // large enough for two threads
                          {{32, 64, 2, 2}, {64, 64, 3, 3}, 1, 1}, {{64, 32, 4, 4}, {32, 32, 3, 3}, 1, 1},
                          // two classes (1x2 maps) on four threads: each class's columns cut in two runs of
                          // whole register tiles (64 columns into 32 + 32, 80 into 32 + 48)
                          {{64, 64, 1, 2}, {96, 64, 3, 3}, 1, 1}, {{80, 64, 1, 2}, {96, 64, 3, 3}, 1, 1}};
    for (const Isa isa : test::available_isas()) {
        const test::IsaScope scope(isa);
        for (const Case& k : cases) {
            INFO("isa " << isa_name(isa) << ", input " << k.x << ", weight " << k.w << ", stride " << k.stride
                        << ", padding " << k.padding);
            const Tensor<double> x = random_tensor(k.x, 51), w = random_tensor(k.w, 52), b = random_tensor({k.w[0]}, 53);
            const NaiveConv ref(x, w, &b, k.stride, k.padding, nullptr);
            const Tensor<float> xf = x.cast<float>(), wf = w.cast<float>(), bf = b.cast<float>();
            Tensor<float> first;
            for (const int threads : {1, 2, 4}) {  // the classes are shared out among the threads
                INFO("threads " << threads);
#ifdef _OPENMP
                const int saved = omp_get_max_threads();
                omp_set_num_threads(threads);
#endif
                Tape tape;
                NoGradGuard no_grad(tape);
                const Var<double> yd =
                    conv2d(tape.constant(x), tape.constant(w), tape.constant(b), {k.stride, k.padding});
                const Var<float> yf =
                    conv2d(tape.constant(xf), tape.constant(wf), tape.constant(bf), {k.stride, k.padding});
#ifdef _OPENMP
                omp_set_num_threads(saved);
#endif
                CHECK(test::max_rel_diff(yd.to_tensor(), ref.y) < 1e-12);
                CHECK(test::max_rel_diff(yf.to_tensor(), ref.y) < 1e-4);
                if (threads == 1) first = yf.to_tensor();
                else CHECK(test::max_abs_diff(yf.to_tensor(), first) == 0.0);  // each class computed alike
            }
        }
    }
}

TEST_CASE("conv2d rejects bad shapes and arguments with clear messages", "[ops][conv2d][errors]") {
    Tape tape;
    Tensor<float> x(Shape{2, 3, 7, 5}), w(Shape{4, 3, 3, 3}), b(Shape{4});
    auto X = tape.constant(x), W = tape.constant(w), B = tape.constant(b);
    Tensor<float> x3(Shape{3, 7, 5}), w3(Shape{4, 3, 9}), w2c(Shape{4, 2, 3, 3}), b5(Shape{5}), big(Shape{4, 3, 9, 9});
    CHECK_THROWS_AS(conv2d(tape.constant(x3), W, B), ShapeError);
    CHECK_THROWS_WITH(conv2d(tape.constant(x3), W, B), Catch::Contains("conv2d") && Catch::Contains("rank 4") &&
                                                          Catch::Contains("[3, 7, 5]"));
    CHECK_THROWS_WITH(conv2d(X, tape.constant(w3), B),
                      Catch::Contains("conv2d: weight") && Catch::Contains("[4, 3, 9]"));
    CHECK_THROWS_WITH(conv2d(X, tape.constant(w2c), B), Catch::Contains("[2, 3, 7, 5]") &&
                                                            Catch::Contains("[4, 2, 3, 3]") &&
                                                            Catch::Contains("channels"));
    CHECK_THROWS_WITH(conv2d(X, W, tape.constant(b5)), Catch::Contains("bias") && Catch::Contains("[5]") &&
                                                           Catch::Contains("[4, 3, 3, 3]"));
    CHECK_THROWS_AS(conv2d(X, tape.constant(big), B, {1, 0}), ShapeError);
    CHECK_THROWS_WITH(conv2d(X, tape.constant(big), B, {1, 0}),
                      Catch::Contains("9x9") && Catch::Contains("7x5") && Catch::Contains("larger"));
    CHECK_NOTHROW(conv2d(X, tape.constant(big), B, {1, 2}));  // 9x9 fits in 11x9
    CHECK_THROWS_AS(conv2d(X, W, B, {0, 1}), ArgumentError);
    CHECK_THROWS_WITH(conv2d(X, W, B, {0, 1}), Catch::Contains("stride") && Catch::Contains("0"));
    CHECK_THROWS_AS(conv2d(X, W, B, {1, -1}), ArgumentError);
    CHECK_THROWS_WITH(conv2d(X, W, B, {1, -1}), Catch::Contains("padding") && Catch::Contains("-1"));
    Tape other;
    CHECK_THROWS_AS(conv2d(X, other.constant(w), B), ArgumentError);
}
