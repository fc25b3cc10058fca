#pragma once
/// @file
/// gradcheck: compares the tape's gradients with central finite differences in double precision. Users can
/// run it on their own ops and modules.

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "strata/autograd/tape.hpp"

namespace strata {

/// Tolerances of gradcheck: an element passes when |analytic - numeric| <= atol + rtol * |numeric|.
struct GradcheckOptions {
    double eps = 1e-6;   ///< finite-difference step
    double atol = 1e-6;  ///< absolute tolerance
    double rtol = 1e-4;  ///< relative tolerance
    std::uint64_t seed = 20240917;  ///< seed of the random projection of non-scalar outputs
};

/// Outcome of gradcheck, with the worst element described.
struct GradcheckResult {
    bool passed = true;
    double max_abs_error = 0.0;      ///< largest |analytic - numeric| over all checked elements
    double worst_excess = 0.0;       ///< largest error / (atol + rtol*|numeric|); passed iff <= 1
    std::string worst;               ///< "input 1 element 17: analytic 0.25, numeric 0.5"
    std::size_t elements_checked = 0;
    explicit operator bool() const { return passed; }
};

namespace detail {

/// The shared core: `run(record)` evaluates the projected output sum(out * R); with record=true it also runs
/// backward seeded with R so that `grads[i]` holds the analytic gradient of input i.
inline GradcheckResult compare_gradients(const std::function<double(bool)>& run,
                                         const std::vector<TensorView<double>>& values,
                                         const std::function<std::vector<Tensor<double>>()>& analytic,
                                         const GradcheckOptions& opt) {
    run(true);
    const std::vector<Tensor<double>> grads = analytic();
    GradcheckResult result;
    for (std::size_t k = 0; k < values.size(); ++k) {
        TensorView<double> x = values[k];
        for (index_t i = 0; i < x.numel(); ++i) {
            const double saved = x[i];
            x[i] = saved + opt.eps;
            const double plus = run(false);
            x[i] = saved - opt.eps;
            const double minus = run(false);
            x[i] = saved;
            const double numeric = (plus - minus) / (2 * opt.eps);
            const double a = grads[k][i];
            const double err = std::abs(a - numeric);
            const double excess = err / (opt.atol + opt.rtol * std::abs(numeric));
            ++result.elements_checked;
            if (err > result.max_abs_error) result.max_abs_error = err;
            if (excess > result.worst_excess) {
                result.worst_excess = excess;
                result.worst = concat("input ", k, " element ", i, ": analytic ", a, ", numeric ", numeric);
            }
        }
    }
    result.passed = result.worst_excess <= 1.0;
    return result;
}

/// Seeds R with a fixed random tensor of `shape` (reused across evaluations).
inline const Tensor<double>& projection(Tensor<double>& r, const Shape& shape, std::uint64_t seed) {
    if (r.shape() != shape || r.empty()) {
        r = Tensor<double>(shape);
        Generator gen(seed);
        r.fill_uniform(gen, 0.5, 1.5);
        for (index_t i = 0; i < r.numel(); ++i)
            if (gen.uniform() < 0.5) r[i] = -r[i];
    }
    return r;
}

}  // namespace detail

/// Checks the gradient of `f` with respect to each of `inputs`.
///
/// `f(tape, vars)` builds a value from `vars` (one Var per input, in order) on `tape`; outputs of any shape are
/// reduced by a fixed random projection. The inputs' elements are perturbed in place and restored. The inputs
/// must be distinct tensors (to test a value used twice, use vars[0] twice inside f); ArgumentError otherwise.
/// @throws ArgumentError when an input is passed twice or the output does not depend on the inputs; anything
/// `f` throws.
template <class F>
GradcheckResult gradcheck(F&& f, const std::vector<Tensor<double>*>& inputs, const GradcheckOptions& opt = {}) {
    for (std::size_t i = 0; i < inputs.size(); ++i)
        for (std::size_t j = i + 1; j < inputs.size(); ++j)
            check<ArgumentError>(inputs[i] != inputs[j], "gradcheck: inputs ", i, " and ", j,
                                 " are the same tensor; pass it once and use its Var twice");
    Tape tape;
    Tensor<double> r;
    std::vector<Tensor<double>> grads;
    auto run = [&](bool record) {
        tape.rewind();
        std::vector<Var<double>> vars;
        for (Tensor<double>* t : inputs) vars.push_back(record ? tape.variable(*t) : tape.constant(*t));
        Var<double> out = f(tape, vars);
        const Tensor<double>& proj = detail::projection(r, out.shape(), opt.seed);
        const double value = (out.value().array() * proj.array()).sum();
        if (record) {
            check<ArgumentError>(out.requires_grad(), "gradcheck: the function's output does not depend on its inputs");
            tape.backward(out, proj.view());
            grads.clear();
            for (const Var<double>& v : vars) grads.push_back(Tensor<double>::from(v.grad()));
        }
        return value;
    };
    std::vector<TensorView<double>> values;
    for (Tensor<double>* t : inputs) values.push_back(t->view());
    return detail::compare_gradients(run, values, [&] { return std::move(grads); }, opt);
}

/// Checks the gradients that `f(tape)` leaves in `params` (their `grad` is zeroed first and after).
/// @throws ArgumentError when the output does not depend on the parameters; anything `f` throws.
template <class F>
GradcheckResult gradcheck_parameters(F&& f, const std::vector<Parameter<double>*>& params,
                                     const GradcheckOptions& opt = {}) {
    Tape tape;
    Tensor<double> r;
    auto run = [&](bool record) {
        tape.rewind();
        for (Parameter<double>* p : params) {
            p->zero_grad();
            p->value.mark_modified();  // perturbed through a view: packed copies (ConvWeightCache) must repack
        }
        std::optional<NoGradGuard> no_grad;
        if (!record) no_grad.emplace(tape);
        Var<double> out = f(tape);
        const Tensor<double>& proj = detail::projection(r, out.shape(), opt.seed);
        const double value = (out.value().array() * proj.array()).sum();
        if (record) tape.backward(out, proj.view());
        return value;
    };
    std::vector<TensorView<double>> values;
    for (Parameter<double>* p : params) values.push_back(p->value.view());
    auto analytic = [&] {
        std::vector<Tensor<double>> g;
        for (Parameter<double>* p : params) g.push_back(p->grad().clone());
        return g;
    };
    GradcheckResult result = detail::compare_gradients(run, values, analytic, opt);
    for (Parameter<double>* p : params) p->zero_grad();
    return result;
}

}  // namespace strata
