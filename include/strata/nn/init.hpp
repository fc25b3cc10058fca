#pragma once
/// @file
/// Weight initialisation (torch.nn.init equivalents) and the default generator that module constructors use.

#include <cmath>
#include <cstdint>

#include "strata/core/tensor.hpp"

namespace strata {

/// The thread-local generator that layer constructors draw their initial weights from.
inline Generator& default_generator() {
    thread_local Generator gen(0x5EED);
    return gen;
}
/// Seeds the default generator (like torch.manual_seed): models built afterwards are reproducible.
inline void manual_seed(std::uint64_t seed) { default_generator().seed(seed); }

namespace nn::init {

/// Fan-in and fan-out of a weight: [out, in] for Linear, [out, in, kh, kw] for Conv2d.
struct Fans {
    double in;
    double out;
};

/// Fans as PyTorch computes them (_calculate_fan_in_and_fan_out); throws ArgumentError below rank 2.
/// @throws ArgumentError when w has rank below 2, naming its shape.
template <class T>
Fans fans(const Tensor<T>& w) {
    check<ArgumentError>(w.rank() >= 2, "init: fan in/out needs a weight of rank >= 2, got shape ", w.shape());
    const double receptive = static_cast<double>(w.numel() / (w.dim(0) * w.dim(1)));
    return {static_cast<double>(w.dim(1)) * receptive, static_cast<double>(w.dim(0)) * receptive};
}

/// Which fan Kaiming initialisation preserves.
enum class FanMode { fan_in, fan_out };

/// Kaiming (He) normal with ReLU gain: N(0, 2 / fan), as torchvision's ResNet and He et al. 2015.
/// @throws ArgumentError when w has rank below 2 (see fans()).
template <class T>
void kaiming_normal(Tensor<T>& w, FanMode mode, Generator& gen) {
    const Fans f = fans(w);
    const double fan = mode == FanMode::fan_in ? f.in : f.out;
    w.fill_normal(gen, 0.0, std::sqrt(2.0 / fan));
}

/// PyTorch's default for Linear and Conv2d weights: kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), +).
/// @throws ArgumentError when w has rank below 2 (see fans()).
template <class T>
void torch_default_weight(Tensor<T>& w, Generator& gen) {
    const double bound = 1.0 / std::sqrt(fans(w).in);
    w.fill_uniform(gen, -bound, bound);
}

/// PyTorch's default bias for a layer whose weight has the given fan-in: U(-1/sqrt(fan_in), +).
template <class T>
void torch_default_bias(Tensor<T>& b, double fan_in, Generator& gen) {
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(fan_in) : 0.0;
    b.fill_uniform(gen, -bound, bound);
}

}  // namespace nn::init
}  // namespace strata
