#pragma once
// Checking an optimizer's element-wise update kernel: on every kernel family the dispatch can pick and on one and two
// threads, over a parameter long enough to be split among threads and to end in a partial block of 16.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "strata/core/parallel.hpp"
#include "strata/core/tensor.hpp"
#include "strata/autograd/parameter.hpp"
#include "support/isa_scope.hpp"
#include "support/random_tensor.hpp"

namespace strata::test {

/// Elements of the checked parameter: over five times the element-wise split threshold, no multiple of 16.
inline const index_t update_check_length = 5 * strata::detail::elementwise_split_min + 123;
/// Steps of the check (the first steps of Adam's bias correction and of every state's start-up).
inline constexpr int update_check_steps = 3;

/// Seeds of the checked parameter's initial weights and of step k's gradient (seed + k).
inline constexpr std::uint64_t update_check_weight_seed = 21, update_check_grad_seed = 40;

/// The weights after update_check_steps steps of the optimizer `make(std::vector<Parameter<T>*>)` builds, with
/// the kernels of `isa` on `threads` threads.
template <class T, class Make>
std::vector<T> weights_after_update_steps(const Make& make, Isa isa, int threads) {
    IsaScope scope(isa);
#ifdef _OPENMP
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    Parameter<T> p(random_tensor<T>(Shape{update_check_length}, update_check_weight_seed));
    auto opt = make(std::vector<Parameter<T>*>{&p});
    for (int step = 0; step < update_check_steps; ++step) {
        p.grad().copy_from(
            random_tensor<T>(Shape{update_check_length}, update_check_grad_seed + std::uint64_t(step)).view());
        opt.step();
    }
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    return std::vector<T>(p.value.data(), p.value.data() + update_check_length);
}

/// Checks the update of the optimizer `make` builds: on every kernel family, one and two threads give the same
/// weights bit for bit, and they follow the rule written out in double to `tol` (the largest difference relative
/// to the largest change of a weight, so that an error in the update is not hidden by the weights' size). In float,
/// Adam's update of a weight whose gradient is near zero carries relative errors of 1e-4 (its ratio m / sqrt(v)
/// amplifies the rounding of m and v), so a float check can only be loose; the double one is tight. `reference_step(w, g)` applies one step of the rule to the double weights `w` with
/// gradient `g` (keeping its own state).
template <class T, class Make, class ReferenceStep>
void check_update_kernels(const Make& make, ReferenceStep reference_step, double tol) {
    std::vector<double> expected(static_cast<std::size_t>(update_check_length));
    const Tensor<T> w0 = random_tensor<T>(Shape{update_check_length}, update_check_weight_seed);
    std::copy(w0.data(), w0.data() + update_check_length, expected.begin());
    for (int step = 0; step < update_check_steps; ++step) {
        const Tensor<T> g = random_tensor<T>(Shape{update_check_length}, update_check_grad_seed + std::uint64_t(step));
        reference_step(expected, std::vector<double>(g.data(), g.data() + update_check_length));
    }
    double scale = 0;
    for (index_t i = 0; i < update_check_length; ++i)
        scale = std::max(scale, std::abs(expected[static_cast<std::size_t>(i)] - static_cast<double>(w0[i])));

    for (const Isa isa : available_isas()) {
        INFO("kernels " << isa_name(isa));
        const std::vector<T> one = weights_after_update_steps<T>(make, isa, 1);
        const std::vector<T> two = weights_after_update_steps<T>(make, isa, 2);
        CHECK(std::equal(one.begin(), one.end(), two.begin()));
        double worst = 0;
        for (std::size_t i = 0; i < one.size(); ++i)
            worst = std::max(worst, std::abs(static_cast<double>(one[i]) - expected[i]));
        CHECK(worst / scale < tol);
    }
}

}  // namespace strata::test
