#pragma once
/// @file
/// dropout(x, p, training, gen): inverted dropout, as in PyTorch.

#include "strata/autograd/tape.hpp"
#include "strata/core/random.hpp"

namespace strata {

/// Inverted dropout. In training, each element of x is zeroed with probability p and the survivors are
/// scaled by 1 / (1 - p), so the expected value is unchanged; the mask is drawn from `gen` (one uniform per
/// element, so the same generator state gives the same mask) and kept in the tape's arena for backward, which
/// multiplies dout by the same mask. When `training` is false or p == 0 it returns x itself (no node, no
/// draws); p == 1 gives zeros (no draws). Throws ArgumentError naming p unless 0 <= p <= 1.
/// @throws ArgumentError when p is outside [0, 1], naming it.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> dropout(const Var<T>& x, double p, bool training, Generator& gen) {
    check<ArgumentError>(p >= 0.0 && p <= 1.0, "dropout: probability p must be in [0, 1], got p = ", p);
    if (!training || p == 0.0) return x;
    Tape& tape = x.tape();
    const bool grad = tape.needs_grad(x);
    const index_t n = x.numel();
    Var<T> out = tape.make_output<T>(x.shape(), grad);
    T* mask = grad ? tape.buffer<T>(n) : nullptr;
    {
        const bool drop_all = p == 1.0;
        const T keep = drop_all ? T(0) : static_cast<T>(1.0 / (1.0 - p));
        const T* px = x.value().data();
        T* po = out.mutable_value().data();
        for (index_t i = 0; i < n; ++i) {
            const T m = (!drop_all && gen.uniform() >= p) ? keep : T(0);
            po[i] = px[i] * m;
            if (mask) mask[i] = m;
        }
    }
    if (grad)
        tape.record("dropout", out, [x, out, mask, n] {
            x.grad().array() += out.grad().array() * ArrayMap<const T>(mask, n);
        });
    return out;
}

}  // namespace strata
