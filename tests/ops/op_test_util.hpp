#pragma once
// Small helpers shared by the op tests in tests/ops/ (random inputs, tolerances). Comparisons reuse
// max_abs_diff / max_rel_diff from support/fixture.hpp.

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "strata/core/tensor.hpp"
#include "support/fixture.hpp"
#include "support/random_tensor.hpp"

namespace strata::test {

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
