#pragma once
/// @file
/// OneCycleLR: the 1cycle policy (lr up from max_lr / div_factor to max_lr over pct_start of the steps, then down
/// to max_lr / (div_factor * final_div_factor)), with optional inverse momentum cycling, exactly as
/// torch.optim.lr_scheduler.OneCycleLR (PyTorch 1.13), including three_phase and linear annealing.

#include <array>
#include <cmath>
#include <vector>

#include "strata/core/options.hpp"
#include "strata/optim/schedule/base.hpp"

namespace strata::optim {

/// How OneCycleLR interpolates within a phase.
enum class AnnealStrategy { cos, linear };

/// Options of OneCycleLR (PyTorch's defaults: pct_start 0.3, cosine annealing, momentum cycling between 0.85
/// and 0.95, div_factor 25, final_div_factor 1e4, two phases).
struct OneCycleOptions {
    /// Peak lr `max_lr` for every group, over `total_steps` steps.
    OneCycleOptions(double max_lr, index_t total_steps) : max_lr_(max_lr), total_steps_(total_steps) {}
    STRATA_ARG(double, max_lr);
    /// Per-group peak lrs; when non-empty, overrides max_lr and must have one value per group.
    STRATA_ARG(std::vector<double>, max_lrs) = {};
    STRATA_ARG(index_t, total_steps);
    STRATA_ARG(double, pct_start) = 0.3;
    STRATA_ARG(AnnealStrategy, anneal_strategy) = AnnealStrategy::cos;
    STRATA_ARG(bool, cycle_momentum) = true;
    STRATA_ARG(double, base_momentum) = 0.85;
    STRATA_ARG(double, max_momentum) = 0.95;
    STRATA_ARG(double, div_factor) = 25.0;
    STRATA_ARG(double, final_div_factor) = 1e4;
    STRATA_ARG(bool, three_phase) = false;
};

/// The one-cycle schedule. It sets each group's lr (and momentum, or Adam's beta1, when cycling) at
/// construction; the base lrs are max_lr / div_factor. It may be stepped total_steps times.
class OneCycleLR : public LrSchedule {
public:
    /// Throws ArgumentError on total_steps < 1, pct_start outside [0, 1], a phase of zero length, a max_lrs of
    /// the wrong size, non-positive factors, or momentum cycling on an optimizer without momentum.
    /// @throws ArgumentError for invalid options or an optimizer without groups (or without momentum when
    /// cycle_momentum), naming the value.
    OneCycleLR(LrControl& optimizer, const OneCycleOptions& options)
        : LrSchedule(optimizer, "OneCycleLR"), options_(options) {
        const OneCycleOptions& o = options;
        check<ArgumentError>(o.total_steps() >= 1, "OneCycleLR: expected positive total_steps, got ",
                             o.total_steps());
        check<ArgumentError>(o.pct_start() >= 0 && o.pct_start() <= 1,
                             "OneCycleLR: expected pct_start between 0 and 1, got ", o.pct_start());
        check<ArgumentError>(o.div_factor() > 0 && o.final_div_factor() > 0,
                             "OneCycleLR: div_factor and final_div_factor must be positive, got ", o.div_factor(),
                             " and ", o.final_div_factor());
        const std::size_t groups = optimizer.group_count();
        check<ArgumentError>(o.max_lrs().empty() || o.max_lrs().size() == groups, "OneCycleLR: expected ", groups,
                             " values for max_lrs, got ", o.max_lrs().size());
        check<ArgumentError>(!o.cycle_momentum() || optimizer.has_momentum(), "OneCycleLR: optimizer ",
                             optimizer.name(), " must support momentum with cycle_momentum enabled");
        const double total = static_cast<double>(o.total_steps());
        // PyTorch's _schedule_phases: momentum runs opposite to the lr (max -> base while the lr rises)
        if (o.three_phase())
            phases_ = {{o.pct_start() * total - 1, Level::initial, Level::peak, o.max_momentum(), o.base_momentum()},
                       {2 * o.pct_start() * total - 2, Level::peak, Level::initial, o.base_momentum(),
                        o.max_momentum()},
                       {total - 1, Level::initial, Level::minimum, o.max_momentum(), o.max_momentum()}};
        else
            phases_ = {{o.pct_start() * total - 1, Level::initial, Level::peak, o.max_momentum(), o.base_momentum()},
                       {total - 1, Level::peak, Level::minimum, o.base_momentum(), o.max_momentum()}};
        double start_step = 0;
        for (const Phase& p : phases_) {
            check<ArgumentError>(p.end_step != start_step, "OneCycleLR: pct_start ", o.pct_start(),
                                 " with total_steps ", o.total_steps(), " gives a phase of zero steps");
            start_step = p.end_step;
        }
        for (std::size_t g = 0; g < groups; ++g) {
            const double max_lr = o.max_lrs().empty() ? o.max_lr() : o.max_lrs()[g];
            check<ArgumentError>(max_lr >= 0, "OneCycleLR: invalid max_lr ", max_lr, " for group ", g);
            levels_.push_back({max_lr / o.div_factor(), max_lr, max_lr / o.div_factor() / o.final_div_factor()});
            base_lrs_[g] = levels_.back()[0];
            if (o.cycle_momentum()) optimizer.set_momentum(g, o.max_momentum());
        }
        start();
    }

    /// Throws ArgumentError (PyTorch's ValueError) when stepped more than total_steps times.
    /// @throws ArgumentError when stepped more than total_steps times or the group count changed.
    void step() override {
        check<ArgumentError>(last_epoch_ + 1 <= options_.total_steps(), "OneCycleLR: tried to step ",
                             last_epoch_ + 2, " times. The specified number of total steps is ",
                             options_.total_steps());
        jump_to(last_epoch_ + 1);
    }
    /// Sets the lrs (and momenta) of step `epoch` in [0, total_steps]; throws ArgumentError outside.
    /// @throws ArgumentError when epoch is outside [0, total_steps] or the group count changed.
    void jump_to(index_t epoch) override {
        check_groups();
        check<ArgumentError>(epoch >= 0 && epoch <= options_.total_steps(), "OneCycleLR: cannot jump to step ",
                             epoch, " of ", options_.total_steps());
        last_epoch_ = epoch;
        const double step = static_cast<double>(epoch);
        double start_step = 0;
        for (std::size_t i = 0; i < phases_.size(); ++i) {
            const Phase& p = phases_[i];
            if (step <= p.end_step || i + 1 == phases_.size()) {
                const double pct = (step - start_step) / (p.end_step - start_step);
                for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
                    const auto& lv = levels_[g];
                    opt_->set_lr(g, anneal(lv[static_cast<int>(p.from)], lv[static_cast<int>(p.to)], pct));
                    if (options_.cycle_momentum()) opt_->set_momentum(g, anneal(p.momentum_from, p.momentum_to, pct));
                }
                return;
            }
            start_step = p.end_step;
        }
    }

    /// The base part (see LrSchedule::state) followed by each group's momentum when cycling.
    std::vector<double> state() const override {
        std::vector<double> out = LrSchedule::state();
        if (options_.cycle_momentum())
            for (std::size_t g = 0; g < base_lrs_.size(); ++g) out.push_back(opt_->momentum(g));
        return out;
    }
    /// Restores a state() (lrs and momenta); throws ArgumentError on a size mismatch.
    /// @throws ArgumentError on a state of the wrong size or with a bad last_epoch.
    void load_state(const std::vector<double>& state) override {
        const std::size_t extra = options_.cycle_momentum() ? base_lrs_.size() : 0;
        load_base_state(state, base_state_size() + extra);
        for (std::size_t g = 0; g < extra; ++g) opt_->set_momentum(g, state[base_state_size() + g]);
    }

    /// The options it was built with.
    const OneCycleOptions& options() const { return options_; }

private:
    enum class Level { initial = 0, peak = 1, minimum = 2 };
    struct Phase {
        double end_step;
        Level from, to;                      // lr levels
        double momentum_from, momentum_to;
    };

    double anneal(double start, double end, double pct) const {
        if (options_.anneal_strategy() == AnnealStrategy::linear) return (end - start) * pct + start;
        const double cos_out = std::cos(detail::pi * pct) + 1;
        return end + (start - end) / 2.0 * cos_out;
    }

    OneCycleOptions options_;
    std::vector<Phase> phases_;
    std::vector<std::array<double, 3>> levels_;  // initial, peak, minimum lr of each group
};

}  // namespace strata::optim
