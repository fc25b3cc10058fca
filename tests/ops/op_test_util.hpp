#pragma once
// Small helpers shared by the op tests in tests/ops/ (random inputs, tolerances). Comparisons reuse
// max_abs_diff / max_rel_diff from support/fixture.hpp.

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "strata/core/tensor.hpp"
#include "support/fixture.hpp"

namespace strata::test {

/// A tensor of `shape` with N(0, stddev^2) elements drawn from Generator(seed), converted to T.
template <class T = double>
Tensor<T> random_tensor(const Shape& shape, std::uint64_t seed, double stddev = 1.0) {
    Generator gen(seed);
    Tensor<double> t(shape);
    t.fill_normal(gen, 0.0, stddev);
    if constexpr (std::is_same_v<T, double>)
        return t;
    else
        return t.cast<T>();
}

/// Like random_tensor, but every element is at least `margin` away from 0 (for ops with a kink at 0, so
/// finite differences never straddle it).
inline Tensor<double> random_tensor_away_from_zero(const Shape& shape, std::uint64_t seed, double margin = 0.05) {
    Tensor<double> t = random_tensor(shape, seed);
    for (index_t i = 0; i < t.numel(); ++i)
        if (std::abs(t[i]) < margin) t[i] = t[i] < 0 ? t[i] - margin : t[i] + margin;
    return t;
}

/// Relative tolerance of a forward result in T against an exact (double) reference: 1e-5 for float,
/// 1e-12 for double.
template <class T>
constexpr double forward_tolerance() {
    return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

}  // namespace strata::test
