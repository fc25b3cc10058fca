#pragma once
/// @file
/// global_avg_pool2d(x): the mean of each [H, W] plane of an NCHW batch, like
/// torch.nn.functional.adaptive_avg_pool2d(x, 1).

#include "strata/autograd/tape.hpp"

namespace strata {

/// The mean over the spatial dimensions of `x` [N, C, H, W], as [N, C, 1, 1]. The backward adds
/// grad / (H*W) to every element of each plane.
/// Throws ShapeError on a rank other than 4 or an empty plane (H*W == 0).
/// @throws ShapeError when x is not rank 4 or H * W == 0, naming the shape.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> global_avg_pool2d(const Var<T>& x) {
    const Shape& s = x.shape();
    check<ShapeError>(s.rank() == 4, "global_avg_pool2d: input must have rank 4 [N, C, H, W], got shape ", s);
    check<ShapeError>(s[2] * s[3] > 0, "global_avg_pool2d: input shape ", s, " has an empty spatial plane");
    const index_t planes = s[0] * s[1], area = s[2] * s[3];
    Tape& tape = x.tape();
    Var<T> out = tape.make_output<T>(Shape{s[0], s[1], 1, 1}, tape.needs_grad(x));
    const T* px = x.value().data();
    T* py = out.mutable_value().data();
    const T divisor = static_cast<T>(area);
    for (index_t pl = 0; pl < planes; ++pl) py[pl] = ArrayMap<const T>(px + pl * area, area).sum() / divisor;
    if (out.requires_grad())
        tape.record("global_avg_pool2d", out, [x, out, planes, area, divisor] {
            const T* gy = out.grad().data();
            T* gx = x.grad().data();
            for (index_t pl = 0; pl < planes; ++pl) ArrayMap<T>(gx + pl * area, area) += gy[pl] / divisor;
        });
    return out;
}

}  // namespace strata
