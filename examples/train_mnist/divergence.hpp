#pragma once
/// @file
/// Divergence: where and why a TrainingRun stopped on a non-finite value, and the checks it uses.
///
/// The rule (TrainingRun::run): training stops, without applying the step's update and without saving, when
///   - the training loss of a step (over the whole global batch) is NaN or infinite, or
///   - anomaly mode (--detect-anomaly, Tape::set_detect_anomaly) finds a NaN or infinity in the output or the
///     gradient of any op of a step (the message names the op), or
///   - at a save point (the end of an epoch, or an interruption) the model's parameters or buffers hold a NaN
///     or infinity, or the test loss is not finite.
/// The checkpoint on disk then still holds the last good state (the previous save).

#include <cmath>
#include <cstdio>
#include <string>

#include "strata/autograd/tape.hpp"
#include "strata/nn/module.hpp"
#include "config.hpp"

namespace strata::train {

/// Where and why a run diverged.
struct Divergence {
    index_t epoch = 0;     ///< 1-based epoch it happened in
    index_t step = 0;      ///< 1-based optimizer step that was refused (at a save point: the steps taken)
    index_t batch = 0;     ///< 1-based batch of the epoch (0 at a save point)
    index_t batches = 0;   ///< batches per epoch
    double loss = 0;       ///< the non-finite loss (training loss of the step, or the test loss), else NaN
    std::string what;      ///< what was found: "the training loss is nan", "parameter fc.weight ...", or the
                           ///< anomaly message naming the op
    bool anomaly = false;  ///< found by anomaly mode
};

/// "nan", "inf", "-inf" or the number in %g.
inline std::string number_text(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

/// The dotted name of the first parameter (then buffer) of `model` holding a NaN or an infinity, prefixed by
/// "parameter " or "buffer ", and the element index; "" when every value is finite.
inline std::string first_non_finite_state(nn::Module<float>& model) {
    for (const auto& p : model.named_parameters()) {
        const Tensor<float>& v = p.parameter->value;
        const index_t i = strata::detail::first_non_finite(v.data(), v.numel(), false);
        if (i >= 0) return strata::detail::concat("parameter ", p.name, " (element ", i, ")");
    }
    for (const auto& b : model.named_buffers()) {
        const index_t i = strata::detail::first_non_finite(b.buffer->data(), b.buffer->numel(), false);
        if (i >= 0) return strata::detail::concat("buffer ", b.name, " (element ", i, ")");
    }
    return "";
}

/// The one-line report of `d` for a run configured by `config`: where (epoch, step, batch; or "after step S
/// (epoch E), before saving" at a save point), what, and a hint
/// (lower --lr, or --clip-grad-norm). Does not say anything about the checkpoint (the caller knows it).
inline std::string describe(const Divergence& d, const TrainConfig& config) {
    using strata::detail::concat;
    const std::string where =
        d.batch > 0 ? concat("at epoch ", d.epoch, ", step ", d.step, " (batch ", d.batch, " of ", d.batches, ")")
                    : concat("after step ", d.step, " (epoch ", d.epoch, "), before saving");
    std::string hint = "lower --lr (now " + number_text(config.lr) + ")";
    hint += config.clip_grad_norm > 0 ? " or --clip-grad-norm (now " + number_text(config.clip_grad_norm) + ")"
                                      : std::string(" or use --clip-grad-norm (e.g. --clip-grad-norm 1)");
    return (d.anomaly ? "anomaly detected " : "training diverged ") + where + ": " + d.what + "; " + hint;
}

}  // namespace strata::train
