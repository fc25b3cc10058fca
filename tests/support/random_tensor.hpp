#pragma once
// Random test inputs: tensors of normally distributed elements from a fixed seed.

#include <cstdint>
#include <type_traits>

#include "strata/core/random.hpp"
#include "strata/core/tensor.hpp"

namespace strata::test {

/// A tensor of `shape` with N(mean, stddev^2) elements drawn from Generator(seed).
inline Tensor<double> normal_tensor(const Shape& shape, std::uint64_t seed, double mean = 0.0, double stddev = 1.0) {
    Generator gen(seed);
    Tensor<double> t(shape);
    t.fill_normal(gen, mean, stddev);
    return t;
}

/// A tensor of `shape` with N(0, stddev^2) elements drawn from Generator(seed), converted to T.
template <class T = double>
Tensor<T> random_tensor(const Shape& shape, std::uint64_t seed, double stddev = 1.0) {
    Tensor<double> t = normal_tensor(shape, seed, 0.0, stddev);
    if constexpr (std::is_same_v<T, double>)
        return t;
    else
        return t.cast<T>();
}

}  // namespace strata::test
