#pragma once
/// @file
/// ScheduleDriver: steps a learning-rate schedule from a training loop at the unit it was configured for (every
/// iteration or every epoch), or a ReduceLROnPlateau with the epoch's metric, behind one interface.

#include <memory>
#include <optional>
#include <vector>

#include "strata/optim/schedule/base.hpp"
#include "strata/optim/schedule/plateau.hpp"

namespace strata::optim {

/// When an LrSchedule is stepped.
enum class StepUnit {
    iteration,  ///< after every optimizer step (e.g. OneCycleLR, warm-up counted in iterations)
    epoch       ///< after every epoch
};

/// Owns a schedule and steps it at its unit. A training loop calls after_iteration() after each optimizer step
/// and after_epoch(metric) after each epoch, whatever the schedule.
class ScheduleDriver {
public:
    /// A driver without a schedule (both calls do nothing).
    ScheduleDriver() = default;
    /// Steps `schedule` every iteration or every epoch; throws ArgumentError on a null schedule.
    /// @throws ArgumentError when `schedule` is null.
    ScheduleDriver(std::unique_ptr<LrSchedule> schedule, StepUnit unit) : schedule_(std::move(schedule)), unit_(unit) {
        check<ArgumentError>(schedule_ != nullptr, "ScheduleDriver: the schedule is null");
    }
    /// Steps `plateau` after every epoch with the epoch's metric; throws ArgumentError on a null pointer.
    /// @throws ArgumentError when `plateau` is null.
    explicit ScheduleDriver(std::unique_ptr<ReduceLROnPlateau> plateau)
        : plateau_(std::move(plateau)), unit_(StepUnit::epoch) {
        check<ArgumentError>(plateau_ != nullptr, "ScheduleDriver: the plateau schedule is null");
    }

    /// Call after each optimizer step: steps a per-iteration schedule.
    /// @throws what the schedule's step() throws (ArgumentError).
    void after_iteration() {
        if (schedule_ && unit_ == StepUnit::iteration) schedule_->step();
    }
    /// Call after each epoch: steps a per-epoch schedule, or ReduceLROnPlateau with `metric` (ArgumentError when
    /// it is missing; a NaN metric counts as no improvement, as in PyTorch).
    /// @throws ArgumentError when a plateau schedule gets no metric; what the schedule's step() throws.
    void after_epoch(std::optional<double> metric = std::nullopt) {
        if (schedule_ && unit_ == StepUnit::epoch) schedule_->step();
        if (plateau_) {
            check<ArgumentError>(metric.has_value(), "ScheduleDriver: ReduceLROnPlateau needs the epoch's metric");
            plateau_->step(*metric);
        }
    }

    /// The driven schedule, or null.
    LrSchedule* schedule() const { return schedule_.get(); }
    /// The driven plateau schedule, or null.
    ReduceLROnPlateau* plateau() const { return plateau_.get(); }
    /// When the schedule is stepped (epoch for ReduceLROnPlateau).
    StepUnit unit() const { return unit_; }

    /// The schedule's state (empty without a schedule).
    std::vector<double> state() const {
        if (schedule_) return schedule_->state();
        if (plateau_) return plateau_->state();
        return {};
    }
    /// Restores a state(); throws ArgumentError on a mismatch.
    /// @throws ArgumentError when the state does not fit the schedule (size, last_epoch).
    void load_state(const std::vector<double>& state) {
        if (schedule_) return schedule_->load_state(state);
        if (plateau_) return plateau_->load_state(state);
        check<ArgumentError>(state.empty(), "ScheduleDriver: no schedule to load a state of ", state.size(),
                             " values into");
    }

private:
    std::unique_ptr<LrSchedule> schedule_;
    std::unique_ptr<ReduceLROnPlateau> plateau_;
    StepUnit unit_ = StepUnit::epoch;
};

}  // namespace strata::optim
