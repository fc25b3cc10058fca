#pragma once
/// @file
/// DeepSupervisionLoss: the main loss plus weighted auxiliary-head losses, with per-head weights that may change
/// over training (GoogLeNet's constant 0.3; DSN's decaying companion weights and threshold gamma).

#include <cmath>
#include <vector>

#include "strata/nn/aux_head.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/cross_entropy.hpp"
#include "strata/ops/scale.hpp"
#include "strata/ops/squared_hinge.hpp"

namespace strata::nn {

/// A classification loss on [N, C] logits.
enum class LossKind {
    cross_entropy,  ///< softmax cross-entropy
    squared_hinge,  ///< one-vs-all squared hinge (DSN's L2-SVM loss)
};

/// The loss of `kind` on logits and labels.
/// @throws what cross_entropy() / squared_hinge_loss() throw: ShapeError unless logits is [N, C] with
/// N == labels.size(), ArgumentError for a label outside [0, C).
template <class T>
Var<T> classification_loss(LossKind kind, const Var<T>& logits, const std::vector<index_t>& labels) {
    return kind == LossKind::cross_entropy ? cross_entropy(logits, labels) : squared_hinge_loss(logits, labels);
}

/// The weight of one auxiliary head as a function of training progress t (an epoch or step count; the caller
/// chooses the unit and passes it consistently).
struct AuxWeight {
    enum class Kind { constant, linear_decay, exponential_decay };
    Kind kind = Kind::constant;
    double initial = 0.3;
    double rate = 0.0;  ///< linear_decay: t at which the weight reaches 0; exponential_decay: factor per unit t

    /// A constant weight (GoogLeNet: 0.3).
    static AuxWeight constant(double w) { return {Kind::constant, w, 0.0}; }
    /// w0 * max(0, 1 - t / until): fades out linearly and reaches zero at t = until (DSN's companion weights).
    /// @throws ArgumentError when until <= 0, naming it.
    static AuxWeight linear_decay(double w0, double until) {
        check<ArgumentError>(until > 0, "AuxWeight::linear_decay: 'until' must be positive, got ", until);
        return {Kind::linear_decay, w0, until};
    }
    /// w0 * factor^t.
    /// @throws ArgumentError when factor is outside (0, 1], naming it.
    static AuxWeight exponential_decay(double w0, double factor) {
        check<ArgumentError>(factor > 0 && factor <= 1, "AuxWeight::exponential_decay: factor must be in (0, 1], got ",
                             factor);
        return {Kind::exponential_decay, w0, factor};
    }
    /// The weight at progress t.
    double at(double t) const {
        switch (kind) {
            case Kind::linear_decay:
                return initial * std::max(0.0, 1.0 - t / rate);
            case Kind::exponential_decay:
                return initial * std::pow(rate, t);
            case Kind::constant:
                break;
        }
        return initial;
    }
};

/// Options of DeepSupervisionLoss.
struct DeepSupervisionOptions {
    STRATA_ARG(LossKind, main_loss) = LossKind::cross_entropy;
    STRATA_ARG(LossKind, aux_loss) = LossKind::cross_entropy;
    /// One weight per head, or a single weight for every head.
    STRATA_ARG(std::vector<AuxWeight>, weights) = std::vector<AuxWeight>{AuxWeight::constant(0.3)};
    /// DSN's gamma: a head whose loss is below it stops contributing (0 disables the threshold).
    STRATA_ARG(double, threshold) = 0.0;
};

/// The parts of the latest loss, for logging.
struct DeepSupervisionParts {
    double main = 0.0;
    std::vector<double> aux;      ///< each head's unweighted loss
    std::vector<double> weights;  ///< each head's weight at this t (0 when below the threshold)
};

/// main_loss(main) + sum_i w_i(t) * aux_loss(aux_i). With a threshold gamma, head i contributes only while its
/// loss is at least gamma (DSN's [l_i - gamma]_+; the constant -gamma shift is left out of the value).
template <class T>
class DeepSupervisionLoss {
public:
    /// @throws ArgumentError when options.weights() is empty.
    explicit DeepSupervisionLoss(DeepSupervisionOptions options = {}) : options_(std::move(options)) {
        check<ArgumentError>(!options_.weights().empty(), "DeepSupervisionLoss: needs at least one weight");
    }

    /// The total loss of one forward's outputs at training progress t. Throws ArgumentError when the number of
    /// weights is neither 1 nor the number of heads.
    /// @throws ArgumentError when the number of weights is neither 1 nor the number of heads, or a label is outside
    /// [0, C); ShapeError when the logits are not [N, C] with N == labels.size() (from the losses).
    Var<T> operator()(const Outputs<T>& out, const std::vector<index_t>& labels, double t = 0.0) {
        const auto& w = options_.weights();
        check<ArgumentError>(w.size() == 1 || out.aux.empty() || w.size() == out.aux.size(),
                             "DeepSupervisionLoss: ", w.size(), " weights for ", out.aux.size(), " auxiliary heads");
        Var<T> total = classification_loss(options_.main_loss(), out.main, labels);
        parts_.main = total.item();
        parts_.aux.clear();  // keeps the capacity: no heap allocation per step
        parts_.weights.clear();
        for (std::size_t i = 0; i < out.aux.size(); ++i) {
            Var<T> l = classification_loss(options_.aux_loss(), out.aux[i], labels);
            double weight = (w.size() == 1 ? w[0] : w[i]).at(t);
            if (options_.threshold() > 0 && l.item() < options_.threshold()) weight = 0.0;
            parts_.aux.push_back(l.item());
            parts_.weights.push_back(weight);
            if (weight != 0.0) total = add(total, scale(l, static_cast<T>(weight)));
        }
        return total;
    }

    /// The parts of the latest call.
    const DeepSupervisionParts& parts() const { return parts_; }
    const DeepSupervisionOptions& options() const { return options_; }

private:
    DeepSupervisionOptions options_;
    DeepSupervisionParts parts_;
};

}  // namespace strata::nn
