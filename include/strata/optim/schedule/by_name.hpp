#pragma once
/// @file
/// make_schedule(): the learning-rate schedule a name picks, as a ScheduleDriver, so that a program can choose
/// one at run time (see also make_optimizer in optim/any_optimizer.hpp). Every schedule except plateau steps once
/// per iteration over ScheduleSpec::total_steps iterations, so that a linear warm-up of `warmup` iterations
/// composes with any of them (the wrapped schedule then starts when the warm-up ends):
///   none       constant lr (with warm-up: the warm-up, then constant)
///   step       lr * gamma every step_size iterations (0: ceil(total_steps / 3))
///   multistep  lr * gamma at each milestone iteration (none given: at 50% and 75% of total_steps)
///   cosine     cosine annealing to 0 over the iterations after the warm-up
///   onecycle   PyTorch's OneCycleLR with max_lr = ScheduleSpec::max_lr over total_steps (momentum cycled
///              0.95 -> 0.85 -> 0.95)
///   plateau    lr * gamma when the metric given to after_epoch has not improved for `patience` epochs

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "strata/core/options.hpp"
#include "strata/optim/schedule.hpp"

namespace strata::optim {

/// The names make_schedule() accepts.
inline const std::vector<std::string>& schedule_names() {
    static const std::vector<std::string> names{"none", "step", "multistep", "cosine", "onecycle", "plateau"};
    return names;
}

/// Which schedule make_schedule() builds; lengths are in iterations (optimizer steps).
struct ScheduleSpec {
    /// A schedule called `name` (one of schedule_names()).
    explicit ScheduleSpec(std::string name = "none") : name_(std::move(name)) {}
    /// none | step | multistep | cosine | onecycle | plateau
    STRATA_ARG(std::string, name);
    /// Iterations of the whole run (cosine, onecycle, default multistep milestones, default step size).
    STRATA_ARG(index_t, total_steps) = 1;
    /// onecycle: the peak learning rate.
    STRATA_ARG(double, max_lr) = 0.1;
    /// Linear warm-up iterations before the schedule (not with onecycle or plateau).
    STRATA_ARG(index_t, warmup) = 0;
    /// The lr factor at the first warm-up iteration.
    STRATA_ARG(double, warmup_start) = 0.1;
    /// step: iterations between decays (0: ceil(total_steps / 3)).
    STRATA_ARG(index_t, step_size) = 0;
    /// multistep: the iterations of the decays (empty: 50% and 75% of total_steps).
    STRATA_ARG(std::vector<index_t>, milestones);
    /// step/multistep/plateau decay factor.
    STRATA_ARG(double, gamma) = 0.1;
    /// plateau: epochs without improvement before a decay.
    STRATA_ARG(index_t, patience) = 2;
};

/// The schedule of `spec` driving `optimizer`'s groups (whose current lrs are the base lrs). Throws ArgumentError
/// for total_steps < 1, an unknown schedule name, a warm-up with onecycle or plateau, or invalid schedule options.
inline ScheduleDriver make_schedule(const ScheduleSpec& spec, LrControl& optimizer) {
    const index_t total = spec.total_steps();
    check<ArgumentError>(total >= 1, "make_schedule: total_steps must be >= 1, got ", total);
    const std::string& name = spec.name();
    check<ArgumentError>(spec.warmup() == 0 || (name != "onecycle" && name != "plateau"),
                         "make_schedule: a warm-up cannot be combined with the schedule ", name);
    if (name == "plateau")
        return ScheduleDriver(std::make_unique<ReduceLROnPlateau>(
            optimizer, PlateauOptions().factor(spec.gamma()).patience(spec.patience())));
    if (name == "onecycle")
        return ScheduleDriver(std::make_unique<OneCycleLR>(optimizer, OneCycleOptions(spec.max_lr(), total)),
                              StepUnit::iteration);
    std::unique_ptr<LrSchedule> schedule;
    if (name == "none") {
        if (spec.warmup() == 0) return ScheduleDriver();
        schedule = std::make_unique<ExponentialLR>(optimizer, 1.0);  // constant
    } else if (name == "step") {
        const index_t every = spec.step_size() > 0 ? spec.step_size() : (total + 2) / 3;
        schedule = std::make_unique<StepLR>(optimizer, every, spec.gamma());
    } else if (name == "multistep") {
        std::vector<index_t> at = spec.milestones();
        if (at.empty()) at = {total / 2, total * 3 / 4};
        schedule = std::make_unique<MultiStepLR>(optimizer, at, spec.gamma());
    } else if (name == "cosine") {
        schedule = std::make_unique<CosineAnnealingLR>(optimizer, std::max<index_t>(1, total - spec.warmup()));
    } else {
        std::string valid;
        for (const auto& n : schedule_names()) valid += (valid.empty() ? "" : ", ") + n;
        throw ArgumentError("make_schedule: unknown schedule '" + name + "'; valid: " + valid);
    }
    if (spec.warmup() > 0)
        schedule = std::make_unique<LinearWarmup>(std::move(schedule), spec.warmup(), spec.warmup_start());
    return ScheduleDriver(std::move(schedule), StepUnit::iteration);
}

/// After loading a schedule's state into a schedule built for another total_steps than the saved run's, moves
/// it onto the new length: the lr (and momentum) become the new schedule's closed-form values at the same step.
/// Does nothing without a per-iteration schedule.
inline void rescale_schedule(ScheduleDriver& driver) {
    if (LrSchedule* s = driver.schedule()) s->jump_to(s->last_epoch());
}

}  // namespace strata::optim
