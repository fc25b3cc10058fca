#pragma once
/// @file
/// LinearWarmup: a linear ramp of the lr from start_factor * base_lr to base_lr over the first warmup steps, then
/// any other schedule, starting at its epoch 0. The same numbers as PyTorch 1.13's
/// SequentialLR(opt, [LinearLR(opt, start_factor, 1.0, total_iters=warmup), inner], milestones=[warmup]).

#include <algorithm>
#include <memory>
#include <vector>

#include "strata/optim/schedule/base.hpp"

namespace strata::optim {

/// Linear warm-up wrapped around another schedule. last_epoch() counts every step; the inner schedule's
/// last_epoch is last_epoch() - warmup_steps once the warm-up is over.
class LinearWarmup : public LrSchedule {
public:
    /// Wraps `inner` (built on the optimizer to drive, right before this): steps 0 .. warmup_steps - 1 ramp
    /// linearly from start_factor to 1 times the inner schedule's base lrs, then the inner schedule runs from its
    /// epoch 0 (its base lrs). Throws ArgumentError on a null inner schedule, warmup_steps < 1 or a start_factor
    /// outside (0, 1].
    /// @throws ArgumentError on a null inner schedule, warmup_steps < 1 or start_factor outside (0, 1].
    LinearWarmup(std::unique_ptr<LrSchedule> inner, index_t warmup_steps, double start_factor = 1.0 / 3)
        : LrSchedule(checked(inner), "LinearWarmup"),
          inner_(std::move(inner)),
          warmup_(warmup_steps),
          start_factor_(start_factor) {
        check<ArgumentError>(warmup_steps >= 1, "LinearWarmup: warmup_steps must be at least 1, got ", warmup_steps);
        check<ArgumentError>(start_factor > 0 && start_factor <= 1,
                             "LinearWarmup: start_factor must be in (0, 1], got ", start_factor);
        base_lrs_ = inner_->base_lrs();  // PyTorch's initial_lr, recorded by the first scheduler
        for (std::size_t g = 0; g < base_lrs_.size(); ++g) opt_->set_lr(g, base_lrs_[g]);
        start();
    }

    /// A ramp step during the warm-up, then the inner schedule's step (its jump_to(0) at the switch).
    /// @throws what the inner schedule's step() throws (ArgumentError).
    void step() override {
        check_groups();
        ++last_epoch_;
        if (last_epoch_ < warmup_) {
            for (std::size_t g = 0; g < base_lrs_.size(); ++g) opt_->set_lr(g, ramp_chained(opt_->lr(g)));
        } else if (last_epoch_ == warmup_) {
            inner_->jump_to(0);
        } else {
            inner_->step();
        }
    }
    /// The closed-form ramp before warmup_steps, the inner schedule's jump_to(epoch - warmup_steps) after.
    /// @throws ArgumentError on a negative epoch; what the inner schedule's jump_to() throws.
    void jump_to(index_t epoch) override {
        check_groups();
        check<ArgumentError>(epoch >= 0, "LinearWarmup: cannot jump to negative epoch ", epoch);
        last_epoch_ = epoch;
        if (epoch >= warmup_) return inner_->jump_to(epoch - warmup_);
        const double e = static_cast<double>(std::min(warmup_, epoch)), w = static_cast<double>(warmup_);
        for (std::size_t g = 0; g < base_lrs_.size(); ++g)
            opt_->set_lr(g, base_lrs_[g] * (start_factor_ + (1.0 - start_factor_) * e / w));
    }

    /// The base part (see LrSchedule::state) followed by the inner schedule's state.
    std::vector<double> state() const override {
        std::vector<double> out = LrSchedule::state();
        const std::vector<double> inner = inner_->state();
        out.insert(out.end(), inner.begin(), inner.end());
        return out;
    }
    /// Restores a state(); throws ArgumentError on a size mismatch.
    /// @throws ArgumentError on a state of the wrong size (or one the inner schedule refuses).
    void load_state(const std::vector<double>& state) override {
        check<ArgumentError>(state.size() > base_state_size(), "LinearWarmup: state has ", state.size(),
                             " values, expected more than ", base_state_size());
        const auto split = state.begin() + static_cast<std::ptrdiff_t>(base_state_size());
        inner_->load_state(std::vector<double>(split, state.end()));
        load_base_state(std::vector<double>(state.begin(), split), base_state_size());
    }

    /// The wrapped schedule.
    LrSchedule& inner() const { return *inner_; }
    /// Steps of the ramp.
    index_t warmup_steps() const { return warmup_; }
    /// The lr factor at step 0.
    double start_factor() const { return start_factor_; }

private:
    static LrControl& checked(const std::unique_ptr<LrSchedule>& inner) {
        check<ArgumentError>(inner != nullptr, "LinearWarmup: the inner schedule is null");
        return inner->optimizer();
    }
    /// PyTorch's LinearLR.get_lr with end_factor 1 and total_iters = warmup_ at last_epoch_ < warmup_.
    double ramp_chained(double current) const {
        if (last_epoch_ == 0) return current * start_factor_;
        const double w = static_cast<double>(warmup_), e = static_cast<double>(last_epoch_);
        return current * (1. + (1.0 - start_factor_) / (w * start_factor_ + (e - 1) * (1.0 - start_factor_)));
    }

    std::unique_ptr<LrSchedule> inner_;
    index_t warmup_;
    double start_factor_;
};

}  // namespace strata::optim
