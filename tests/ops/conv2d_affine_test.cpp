// conv2d_affine: the fused convolution + per-channel affine map + residual add + ReLU, against the composition of
// the separate ops (forward, every gradient) and against finite differences in double.

#include <catch2/catch.hpp>

#include <vector>

#include "op_test_util.hpp"
#include "support/isa_scope.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/conv2d_affine.hpp"
#include "strata/ops/mul.hpp"
#include "strata/ops/relu.hpp"
#include "strata/ops/reshape.hpp"

using namespace strata;
using strata::test::max_rel_diff;
using strata::test::random_tensor;

namespace {

/// One geometry: input shape, weight shape, stride, padding.
struct Geometry {
    Shape x, w;
    Conv2dParams p;
};

// Grouped small maps, skipped taps (1x1 map), the stem's 7x7/2, a 1x1 stride-2 projection, one big sample.
const std::vector<Geometry> kGeometries = {
    {{5, 3, 2, 2}, {4, 3, 3, 3}, {1, 1}}, {{3, 2, 7, 5}, {4, 2, 3, 3}, {2, 1}}, {{4, 3, 1, 1}, {2, 3, 3, 3}, {1, 1}},
    {{2, 1, 9, 9}, {3, 1, 7, 7}, {2, 3}}, {{3, 4, 6, 6}, {5, 4, 1, 1}, {2, 0}}, {{1, 2, 12, 12}, {3, 2, 3, 3}, {1, 1}},
};

/// The operands of one case as Vars on `tape`: which of scale, shift and residual are present.
struct Parts {
    bool scale, shift, residual, relu;
};

/// act(conv2d(x, w) * scale + shift + residual) by the separate ops, the reference.
Var<double> composed(const std::vector<Var<double>>& v, const Geometry& g, const Parts& parts) {
    Var<double> y = conv2d(v[0], v[1], g.p);
    const index_t C = g.w[0];
    std::size_t i = 2;
    if (parts.scale) y = mul(y, reshape(v[i++], Shape{1, C, 1, 1}));
    if (parts.shift) y = add(y, reshape(v[i++], Shape{1, C, 1, 1}));
    if (parts.residual) y = add(y, v[i++]);
    return parts.relu ? relu(y) : y;
}

template <class T>
Var<T> fused(const std::vector<Var<T>>& v, const Geometry& g, const Parts& parts) {
    std::size_t i = 2;
    const Var<T> scale = parts.scale ? v[i++] : Var<T>();
    const Var<T> shift = parts.shift ? v[i++] : Var<T>();
    const Var<T> residual = parts.residual ? v[i++] : Var<T>();
    return conv2d_affine(v[0], v[1], scale, shift, g.p, residual, parts.relu);
}

/// The case's inputs: x, w, then the present ones of scale, shift, residual.
std::vector<Tensor<double>> inputs(const Geometry& g, const Parts& parts, std::uint64_t seed) {
    std::vector<Tensor<double>> t;
    t.push_back(random_tensor(g.x, seed));
    t.push_back(random_tensor(g.w, seed + 1));
    const index_t C = g.w[0];
    if (parts.scale) t.push_back(random_tensor({C}, seed + 2));
    if (parts.shift) t.push_back(random_tensor({C}, seed + 3));
    if (parts.residual) {
        const index_t ho = (g.x[2] + 2 * g.p.padding - g.w[2]) / g.p.stride + 1;
        const index_t wo = (g.x[3] + 2 * g.p.padding - g.w[3]) / g.p.stride + 1;
        t.push_back(random_tensor({g.x[0], C, ho, wo}, seed + 4));
    }
    return t;
}

const Parts kParts[] = {{true, true, false, false}, {true, true, false, true}, {true, true, true, true},
                        {false, true, true, false}, {false, false, false, true}, {true, false, true, true}};

}  // namespace

TEST_CASE("conv2d_affine equals the composed ops, forward and every gradient", "[ops][conv2d_affine]") {
    std::uint64_t seed = 300;
    for (const Geometry& g : kGeometries)
        for (const Parts& parts : kParts) {
            seed += 10;
            std::vector<Tensor<double>> t = inputs(g, parts, seed);
            Tape ta, tb;
            std::vector<Var<double>> va, vb;
            for (const Tensor<double>& x : t) {
                va.push_back(ta.variable(x));
                vb.push_back(tb.variable(x));
            }
            const Var<double> ya = fused(va, g, parts), yb = composed(vb, g, parts);
            INFO("input " << g.x << " weight " << g.w << " scale " << parts.scale << " shift " << parts.shift
                          << " residual " << parts.residual << " relu " << parts.relu);
            REQUIRE(ya.shape() == yb.shape());
            CHECK(ta.node_count() == 1);
            CHECK(max_rel_diff(ya.value(), yb.value()) < 1e-12);
            const Tensor<double> dy = random_tensor(ya.shape(), seed + 7);
            ta.backward(ya, dy.view());
            tb.backward(yb, dy.view());
            for (std::size_t i = 0; i < t.size(); ++i) {
                INFO("gradient of input " << i);
                CHECK(max_rel_diff(va[i].grad(), vb[i].grad()) < 1e-12);
            }
        }
}

TEST_CASE("conv2d_affine's backward matches finite differences in double", "[ops][conv2d_affine][gradcheck]") {
    std::uint64_t seed = 900;
    for (const Geometry& g : kGeometries)
        for (const Parts& parts : kParts) {
            seed += 10;
            std::vector<Tensor<double>> t = inputs(g, parts, seed);
            std::vector<Tensor<double>*> ptrs;
            for (Tensor<double>& x : t) ptrs.push_back(&x);
            INFO("input " << g.x << " weight " << g.w << " scale " << parts.scale << " shift " << parts.shift
                          << " residual " << parts.residual << " relu " << parts.relu);
            // ReLU's kink: central differences of step 1e-6 straddle it only for sums within 1e-6 of 0, which
            // these seeds avoid (a failure names the element).
            CHECK(gradcheck([&](Tape&, const std::vector<Var<double>>& v) { return fused(v, g, parts); }, ptrs)
                      .passed);
        }
}

TEST_CASE("conv2d_affine under NoGradGuard records nothing, in float", "[ops][conv2d_affine]") {
    const Geometry g{{6, 3, 4, 4}, {5, 3, 3, 3}, {1, 1}};
    const Parts parts{true, true, true, true};
    std::vector<Tensor<double>> t = inputs(g, parts, 77);
    Tape tape, ref;
    std::vector<Var<float>> v;
    std::vector<Var<double>> vd;
    std::vector<Tensor<float>> tf;
    for (const Tensor<double>& x : t) tf.push_back(x.cast<float>());
    for (std::size_t i = 0; i < t.size(); ++i) {
        v.push_back(tape.variable(tf[i]));
        vd.push_back(ref.constant(t[i]));
    }
    NoGradGuard no_grad(tape);
    const Var<float> y = conv2d_affine(v[0], v[1], v[2], v[3], g.p, v[4], true);
    CHECK(tape.node_count() == 0);
    CHECK_FALSE(y.requires_grad());
    CHECK(max_rel_diff(y.value(), composed(vd, g, parts).value()) < 1e-5);
}

TEST_CASE("conv2d_affine's inference on small maps (one GEMM per tap class) applies every part of the epilogue",
          "[ops][conv2d_affine][isa]") {
    // Batches large enough for the tap-class path (detail::conv_class_min_columns columns in the smallest class):
    // 2x2 maps (one position per class), 4x4 maps (classes of 1, 2 and 4 positions), a stride-2 7x7 -> 4x4.
    const Geometry small[] = {{{64, 8, 2, 2}, {6, 8, 3, 3}, {1, 1}},
                              {{40, 4, 4, 4}, {5, 4, 3, 3}, {1, 1}},
                              {{36, 3, 7, 7}, {4, 3, 3, 3}, {2, 1}}};
    std::uint64_t seed = 1300;
    for (const Isa isa : test::available_isas()) {
        const test::IsaScope scope(isa);
        for (const Geometry& g : small)
            for (const Parts& parts : kParts) {
                seed += 10;
                INFO("isa " << isa_name(isa) << ", input " << g.x << " weight " << g.w << " scale " << parts.scale
                            << " shift " << parts.shift << " residual " << parts.residual << " relu " << parts.relu);
                const std::vector<Tensor<double>> t = inputs(g, parts, seed);
                Tape tape, ref;
                std::vector<Var<float>> v;
                std::vector<Var<double>> vd;
                for (const Tensor<double>& x : t) {
                    v.push_back(tape.constant(x.cast<float>()));
                    vd.push_back(ref.constant(x));
                }
                NoGradGuard no_grad(tape);
                const Var<float> y = fused(v, g, parts);
                CHECK(max_rel_diff(y.value(), composed(vd, g, parts).value()) < 1e-4);
            }
    }
}

TEST_CASE("conv2d_affine names bad operands", "[ops][conv2d_affine]") {
    Tape tape;
    const Tensor<double> x = random_tensor({2, 3, 4, 4}, 1), w = random_tensor({5, 3, 3, 3}, 2);
    const Tensor<double> s4 = random_tensor({4}, 3), r = random_tensor({2, 5, 3, 3}, 4);
    const Var<double> vx = tape.constant(x), vw = tape.constant(w);
    CHECK_THROWS_WITH(conv2d_affine(vx, vw, tape.constant(s4), Var<double>(), {1, 1}),
                      Catch::Contains("scale must have shape [5]") && Catch::Contains("[4]"));
    CHECK_THROWS_WITH(conv2d_affine(vx, vw, Var<double>(), tape.constant(s4), {1, 1}),
                      Catch::Contains("shift must have shape [5]"));
    CHECK_THROWS_WITH(conv2d_affine(vx, vw, Var<double>(), Var<double>(), {1, 1}, tape.constant(r)),
                      Catch::Contains("residual of shape [2, 5, 3, 3]") && Catch::Contains("[2, 5, 4, 4]"));
    CHECK_THROWS_AS(conv2d_affine(vx, vw, Var<double>(), Var<double>(), {0, 1}), ArgumentError);
}
