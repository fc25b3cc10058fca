#pragma once
/// @file
/// ReduceLROnPlateau: multiplies the lr by `factor` when a metric has stopped improving for `patience` steps, as
/// torch.optim.lr_scheduler.ReduceLROnPlateau (PyTorch 1.13).

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "strata/core/options.hpp"
#include "strata/core/shape.hpp"
#include "strata/optim/lr_control.hpp"

namespace strata::optim {

/// Whether a smaller (min) or a larger (max) metric is better.
enum class PlateauMode { min, max };
/// Whether `threshold` is relative to the best value (rel) or an absolute margin (abs).
enum class ThresholdMode { rel, abs };

/// Options of ReduceLROnPlateau (PyTorch's defaults: min mode, factor 0.1, patience 10, threshold 1e-4
/// relative, cooldown 0, min_lr 0, eps 1e-8).
struct PlateauOptions {
    STRATA_ARG(PlateauMode, mode) = PlateauMode::min;
    STRATA_ARG(double, factor) = 0.1;
    STRATA_ARG(index_t, patience) = 10;
    STRATA_ARG(double, threshold) = 1e-4;
    STRATA_ARG(ThresholdMode, threshold_mode) = ThresholdMode::rel;
    STRATA_ARG(index_t, cooldown) = 0;
    STRATA_ARG(double, min_lr) = 0.0;
    /// Per-group lower bounds; when non-empty, overrides min_lr and must have one value per group.
    STRATA_ARG(std::vector<double>, min_lrs) = {};
    /// Reductions smaller than eps are skipped.
    STRATA_ARG(double, eps) = 1e-8;
};

/// Reduces every group's lr to max(lr * factor, min_lr) after more than `patience` steps without improvement
/// of the metric, then waits `cooldown` steps before counting again.
class ReduceLROnPlateau {
public:
    /// Throws ArgumentError when factor is not in [0, 1), patience or cooldown is negative, threshold or eps is
    /// negative, or min_lrs has the wrong size.
    /// @throws ArgumentError for invalid options (naming the value) or an optimizer without groups.
    ReduceLROnPlateau(LrControl& optimizer, const PlateauOptions& options = PlateauOptions())
        : opt_(&optimizer), options_(options) {
        const PlateauOptions& o = options;
        check<ArgumentError>(o.factor() < 1.0 && o.factor() >= 0, "ReduceLROnPlateau: factor should be < 1.0, got ",
                             o.factor());
        check<ArgumentError>(o.patience() >= 0 && o.cooldown() >= 0,
                             "ReduceLROnPlateau: patience and cooldown must be non-negative, got ", o.patience(),
                             " and ", o.cooldown());
        check<ArgumentError>(o.threshold() >= 0 && o.eps() >= 0,
                             "ReduceLROnPlateau: threshold and eps must be non-negative, got ", o.threshold(), " and ",
                             o.eps());
        const std::size_t groups = optimizer.group_count();
        check<ArgumentError>(o.min_lrs().empty() || o.min_lrs().size() == groups, "ReduceLROnPlateau: expected ",
                             groups, " min_lrs, got ", o.min_lrs().size());
        min_lrs_ = o.min_lrs().empty() ? std::vector<double>(groups, o.min_lr()) : o.min_lrs();
        reset();
    }

    /// Records one value of the metric (after an epoch, usually) and reduces the lrs if it has not improved for
    /// more than `patience` steps. Throws ArgumentError when the optimizer's group count changed.
    /// @throws ArgumentError when the optimizer's group count changed since construction.
    void step(double metric) {
        check<ArgumentError>(opt_->group_count() == min_lrs_.size(), "ReduceLROnPlateau: built for ",
                             min_lrs_.size(), " parameter groups but the optimizer now has ", opt_->group_count());
        ++last_epoch_;
        if (is_better(metric)) {
            best_ = metric;
            num_bad_epochs_ = 0;
        } else {
            ++num_bad_epochs_;
        }
        if (cooldown_counter_ > 0) {
            --cooldown_counter_;
            num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
        }
        if (num_bad_epochs_ > options_.patience()) {
            for (std::size_t g = 0; g < min_lrs_.size(); ++g) {
                const double old_lr = opt_->lr(g);
                const double new_lr = std::max(old_lr * options_.factor(), min_lrs_[g]);
                if (old_lr - new_lr > options_.eps()) opt_->set_lr(g, new_lr);
            }
            cooldown_counter_ = options_.cooldown();
            num_bad_epochs_ = 0;
        }
    }

    /// Number of step() calls.
    index_t last_epoch() const { return last_epoch_; }
    /// The best metric so far (+inf in min mode, -inf in max mode before the first step).
    double best() const { return best_; }
    /// Steps without improvement counted so far.
    index_t num_bad_epochs() const { return num_bad_epochs_; }
    /// Steps of cooldown left.
    index_t cooldown_counter() const { return cooldown_counter_; }
    /// The current lr of each group.
    std::vector<double> last_lr() const {
        std::vector<double> out(opt_->group_count());
        for (std::size_t g = 0; g < out.size(); ++g) out[g] = opt_->lr(g);
        return out;
    }
    /// The options it was built with.
    const PlateauOptions& options() const { return options_; }

    /// State as doubles for a checkpoint: last_epoch, best, num_bad_epochs, cooldown_counter, then the lrs.
    std::vector<double> state() const {
        std::vector<double> out{static_cast<double>(last_epoch_), best_, static_cast<double>(num_bad_epochs_),
                                static_cast<double>(cooldown_counter_)};
        const std::vector<double> lrs = last_lr();
        out.insert(out.end(), lrs.begin(), lrs.end());
        return out;
    }
    /// Restores a state() (and the optimizer's lrs); throws ArgumentError on a state of the wrong size.
    /// @throws ArgumentError on a state of the wrong size or a changed group count.
    void load_state(const std::vector<double>& state) {
        check<ArgumentError>(state.size() >= 4 && state.size() - 4 == min_lrs_.size() &&
                                 opt_->group_count() == min_lrs_.size(),
                             "ReduceLROnPlateau: state has ", state.size(), " values, expected ",
                             4 + min_lrs_.size());
        last_epoch_ = static_cast<index_t>(state[0]);
        best_ = state[1];
        num_bad_epochs_ = static_cast<index_t>(state[2]);
        cooldown_counter_ = static_cast<index_t>(state[3]);
        for (std::size_t g = 0; g < min_lrs_.size(); ++g) opt_->set_lr(g, state[4 + g]);
    }

private:
    void reset() {
        best_ = options_.mode() == PlateauMode::min ? std::numeric_limits<double>::infinity()
                                                    : -std::numeric_limits<double>::infinity();
        cooldown_counter_ = 0;
        num_bad_epochs_ = 0;
    }
    bool is_better(double a) const {
        const double t = options_.threshold();
        const bool rel = options_.threshold_mode() == ThresholdMode::rel;
        if (options_.mode() == PlateauMode::min) return rel ? a < best_ * (1. - t) : a < best_ - t;
        return rel ? a > best_ * (t + 1.) : a > best_ + t;
    }

    LrControl* opt_;
    PlateauOptions options_;
    std::vector<double> min_lrs_;
    double best_ = 0;
    index_t num_bad_epochs_ = 0;
    index_t cooldown_counter_ = 0;
    index_t last_epoch_ = 0;
};

}  // namespace strata::optim
