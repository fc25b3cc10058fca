#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "strata/autograd/parameter.hpp"
#include "strata/autograd/tape.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/conv2d.hpp"
#include "strata/ops/scale.hpp"
#include "support/fixture.hpp"
#include "support/isa_scope.hpp"
#include "support/random_tensor.hpp"

using namespace strata;
using strata::test::random_tensor;

// zero_grad() defers the clearing: backward's first write overwrites the gradient and grad() zero-fills one that
// nothing wrote. Each test fills the gradient with NaN before zero_grad(), so a path that added to the stale
// memory (or left part of it) shows up as a NaN.

namespace {

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

/// Puts NaN into p's gradient memory and clears it.
template <class T>
void poison_and_clear(Parameter<T>& p) {
    p.grad().fill(static_cast<T>(nan_value));
    p.zero_grad();
}

}  // namespace

TEST_CASE("a cleared gradient reads as zeros until backward writes it", "[autograd][parameter]") {
    Parameter<double> p(random_tensor(Shape{3, 4}, 1));
    CHECK_FALSE(p.grad_cleared());
    poison_and_clear(p);
    CHECK(p.grad_cleared());
    const Parameter<double>& read_only = p;
    for (index_t i = 0; i < 12; ++i) CHECK(read_only.grad()[i] == 0.0);
    CHECK_FALSE(p.grad_cleared());
    // Written gradients accumulate until the next zero_grad().
    p.grad().fill(2.0);
    CHECK(p.grad()[5] == 2.0);
}

TEST_CASE("backward overwrites a cleared gradient and adds to a written one", "[autograd][parameter]") {
    Parameter<double> p(random_tensor(Shape{6}, 2));
    const Tensor<double> seed = random_tensor(Shape{6}, 3);
    auto run = [&] {
        Tape tape;
        tape.backward(scale(tape.parameter(p), 3.0), seed.view());
    };
    poison_and_clear(p);
    run();
    for (index_t i = 0; i < 6; ++i) CHECK(p.grad()[i] == 3.0 * seed[i]);
    run();  // no zero_grad(): accumulates
    for (index_t i = 0; i < 6; ++i) CHECK(p.grad()[i] == 6.0 * seed[i]);
    // Bound twice in one step (fan-out): the first op's backward writes, the second adds.
    poison_and_clear(p);
    Tape tape;
    auto v = tape.parameter(p);
    auto w = tape.parameter(p);
    tape.backward(add(scale(v, 2.0), scale(w, 5.0)), seed.view());
    for (index_t i = 0; i < 6; ++i) CHECK(p.grad()[i] == Approx(7.0 * seed[i]).epsilon(1e-15));
}

TEST_CASE("a cleared gradient that no gradient reaches is zero, also in the gradient-ready hook",
          "[autograd][parameter]") {
    Parameter<double> used(random_tensor(Shape{4}, 4)), unused(random_tensor(Shape{4}, 5));
    const double* unused_memory = unused.grad().data();  // taken now: grad() would settle the cleared gradient
    poison_and_clear(used);
    poison_and_clear(unused);
    struct Seen {
        const double* unused;
        bool zero_at_call = false;
    } seen{unused_memory};
    Tape tape;
    tape.set_gradient_ready_hook(
        [](void* context, const void* grad) {
            auto* s = static_cast<Seen*>(context);
            // Read through the raw memory, as GradientAverager does: the tape must have zero-filled it.
            if (grad != s->unused) return;
            const auto* g = static_cast<const double*>(grad);
            s->zero_at_call = g[0] == 0.0 && g[1] == 0.0 && g[2] == 0.0 && g[3] == 0.0;
        },
        &seen);
    auto u = tape.parameter(unused);  // bound, but the loss does not depend on it
    (void)u;
    const Tensor<double> seed = random_tensor(Shape{4}, 6);
    tape.backward(scale(tape.parameter(used), 2.0), seed.view());
    CHECK(seen.zero_at_call);
    for (index_t i = 0; i < 4; ++i) {
        CHECK(unused.grad()[i] == 0.0);
        CHECK(used.grad()[i] == 2.0 * seed[i]);
    }
}

TEST_CASE("conv2d's weight gradient written into a cleared gradient equals the one added to zeros",
          "[autograd][parameter][conv2d]") {
    struct Case {
        Shape x, w;
        index_t stride, padding;
        const char* path;
    };
    const Case cases[] = {
        {{3, 4, 10, 10}, {5, 4, 3, 3}, 1, 1, "direct (3x3 on maps 8 or more wide)"},
        {{4, 6, 5, 5}, {7, 6, 3, 3}, 1, 1, "GEMM, every tap active"},
        {{16, 8, 1, 1}, {8, 8, 3, 3}, 1, 1, "GEMM, only the centre tap active (zeros at the others)"},
        {{8, 6, 2, 2}, {9, 6, 3, 3}, 2, 1, "stride 2 on a 2x2 map (four taps active)"},
        {{5, 3, 7, 7}, {4, 3, 1, 1}, 2, 0, "1x1 projection, stride 2"},
    };
    std::uint64_t seed = 40;
    for (const Case& k : cases) {
        const Tensor<double> x = random_tensor(k.x, ++seed), w = random_tensor(k.w, ++seed);
        const index_t ho = (k.x[2] + 2 * k.padding - k.w[2]) / k.stride + 1;
        const index_t wo = (k.x[3] + 2 * k.padding - k.w[3]) / k.stride + 1;
        const Tensor<double> dy = random_tensor({k.x[0], k.w[0], ho, wo}, ++seed);
        for (const Isa isa : test::available_isas()) {
            const test::IsaScope scope(isa);
            for (const int threads : {1, 2}) {
                INFO(k.path << ": input " << k.x << ", weight " << k.w << ", isa " << isa_name(isa) << ", threads "
                            << threads);
#ifdef _OPENMP
                const int saved = omp_get_max_threads();
                omp_set_num_threads(threads);
#endif
                auto backward = [&](Parameter<double>& p) {
                    Tape tape;
                    auto xv = tape.variable(x);
                    tape.backward(conv2d(xv, tape.parameter(p), Var<double>(), {k.stride, k.padding}), dy.view());
                };
                Parameter<double> added(w.clone());  // a zero gradient that was never cleared: backward adds to it
                backward(added);
                Parameter<double> written(w.clone());
                poison_and_clear(written);
                backward(written);
                backward(added);  // accumulate: twice the gradient, on both parameters
                backward(written);
#ifdef _OPENMP
                omp_set_num_threads(saved);
#endif
                CHECK(test::max_abs_diff(written.grad(), added.grad()) == 0.0);
                double largest = 0;
                for (index_t i = 0; i < w.numel(); ++i) largest = std::max(largest, std::abs(added.grad()[i]));
                CHECK(largest > 0.0);
            }
        }
    }
}

TEST_CASE("conv2d on an empty batch leaves a cleared weight gradient at zero", "[autograd][parameter][conv2d]") {
    // No chunk runs, so no product writes the gradient: each path must still zero it.
    struct Case {
        Shape w;
        index_t size, padding;
    };
    for (const Case& k : {Case{{4, 3, 3, 3}, 12, 1}, Case{{4, 3, 3, 3}, 5, 1}, Case{{4, 3, 3, 3}, 1, 1},
                          Case{{4, 3, 1, 1}, 5, 0}}) {
        for (const int threads : {1, 2}) {
            INFO("weight " << k.w << " on " << k.size << "x" << k.size << " maps, threads " << threads);
#ifdef _OPENMP
            const int saved = omp_get_max_threads();
            omp_set_num_threads(threads);
#endif
            Parameter<double> p(random_tensor(k.w, 70));
            poison_and_clear(p);
            Tape tape;
            auto x = tape.variable(Tensor<double>(Shape{0, k.w[1], k.size, k.size}));
            auto y = conv2d(x, tape.parameter(p), Var<double>(), {1, k.padding});
            const Tensor<double> seed(y.shape());
            tape.backward(y, seed.view());
#ifdef _OPENMP
            omp_set_num_threads(saved);
#endif
            CHECK(test::max_abs_diff(p.grad(), Tensor<double>(k.w)) == 0.0);
        }
    }
}
