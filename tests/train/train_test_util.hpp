#pragma once
// Helpers of the tests of include/strata/train: a small synthetic dataset that a network can learn (each class
// lights its own block of pixels, plus noise).

#include <string>

#include "strata/core/random.hpp"
#include "strata/data/dataset.hpp"

namespace strata::test {

/// `n` images [1, 8, 8]: class c = i % classes lights the 2x2 block number c (of 16) at 1.0 over N(0, 0.3) noise.
inline data::Dataset blocks_dataset(index_t n, std::uint64_t seed, index_t classes = 10) {
    Tensor<float> images(Shape{n, 1, 8, 8});
    std::vector<index_t> labels(static_cast<std::size_t>(n));
    Generator gen(seed);
    for (index_t i = 0; i < n; ++i) {
        const index_t c = i % classes;
        labels[static_cast<std::size_t>(i)] = c;
        float* img = images.data() + i * 64;
        for (int p = 0; p < 64; ++p) img[p] = static_cast<float>(0.3 * gen.normal());
        const index_t by = (c / 4) * 2, bx = (c % 4) * 2;
        for (index_t y = by; y < by + 2; ++y)
            for (index_t x = bx; x < bx + 2; ++x) img[y * 8 + x] += 1.0f;
    }
    return data::Dataset(std::move(images), std::move(labels), classes);
}

}  // namespace strata::test
