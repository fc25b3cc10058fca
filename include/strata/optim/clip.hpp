#pragma once
/// @file
/// Gradient clipping, like torch.nn.utils.clip_grad_norm_ and clip_grad_value_ (PyTorch 1.13): by the global
/// norm of all gradients together, or element-wise by value.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "strata/autograd/parameter.hpp"

namespace strata::optim {

/// Scales the gradients of `params` in place so that their global `norm_type`-norm (as if all gradients were
/// concatenated into one vector) is at most about `max_norm`, and returns that norm before clipping.
///
/// As PyTorch: total = norm of the per-parameter norms (the largest |g| for norm_type = infinity); every gradient
/// is multiplied by min(1, max_norm / (total + 1e-6)). Parameters with requires_grad false are ignored (PyTorch
/// ignores parameters without .grad); with no such parameter the result is 0. Sums are accumulated in double.
/// A non-finite total norm is returned and propagates into the gradients (PyTorch's error_if_nonfinite=False).
/// Throws ArgumentError on a null pointer, a negative or NaN max_norm, or a norm_type that is not positive.
/// @throws ArgumentError for a null parameter, a negative or NaN max_norm or a norm_type <= 0, naming it.
template <class T>
double clip_grad_norm(const std::vector<Parameter<T>*>& params, double max_norm, double norm_type = 2.0) {
    check<ArgumentError>(max_norm >= 0, "clip_grad_norm: max_norm must be non-negative, got ", max_norm);
    check<ArgumentError>(norm_type > 0, "clip_grad_norm: norm_type must be positive or infinity, got ", norm_type);
    for (std::size_t i = 0; i < params.size(); ++i)
        check<ArgumentError>(params[i] != nullptr, "clip_grad_norm: parameter ", i, " is null");
    const bool inf = std::isinf(norm_type);
    double total = 0;
    bool any = false;
    for (Parameter<T>* p : params) {
        if (!p->requires_grad) continue;
        any = true;
        const T* g = p->grad().data();
        const index_t n = p->grad().numel();
        double norm = 0;
        if (inf) {
            for (index_t i = 0; i < n; ++i) norm = std::max(norm, std::abs(static_cast<double>(g[i])));
            total = std::max(total, norm);
        } else if (norm_type == 2.0) {
            for (index_t i = 0; i < n; ++i) norm += static_cast<double>(g[i]) * static_cast<double>(g[i]);
            total += norm;  // the square of this parameter's norm
        } else {
            for (index_t i = 0; i < n; ++i) norm += std::pow(std::abs(static_cast<double>(g[i])), norm_type);
            total += norm;
        }
    }
    if (!any) return 0.0;
    if (!inf) total = norm_type == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type);
    const double coef = std::min(max_norm / (total + 1e-6), 1.0);
    if (!(coef < 1.0) && !std::isnan(coef)) return total;  // multiplying by 1 would change nothing
    const T c = static_cast<T>(coef);
    for (Parameter<T>* p : params)
        if (p->requires_grad) p->grad().array() *= c;
    return total;
}

/// Clamps every gradient element of `params` (with requires_grad) to [-clip_value, clip_value] in place, like
/// torch.nn.utils.clip_grad_value_. Throws ArgumentError on a null pointer or a negative or NaN clip_value.
/// @throws ArgumentError for a null parameter or a negative or NaN clip_value, naming it.
template <class T>
void clip_grad_value(const std::vector<Parameter<T>*>& params, double clip_value) {
    check<ArgumentError>(clip_value >= 0, "clip_grad_value: clip_value must be non-negative, got ", clip_value);
    for (std::size_t i = 0; i < params.size(); ++i)
        check<ArgumentError>(params[i] != nullptr, "clip_grad_value: parameter ", i, " is null");
    const T hi = static_cast<T>(clip_value);
    for (Parameter<T>* p : params)
        if (p->requires_grad) p->grad().array() = p->grad().array().max(-hi).min(hi);
}

}  // namespace strata::optim
