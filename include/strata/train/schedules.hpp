#pragma once
/// @file
/// make_schedule(): the learning-rate schedule a TrainConfig names, as an optim::ScheduleDriver. Every schedule
/// except plateau steps once per iteration, with lengths given in epochs converted to iterations, so that a
/// linear warm-up of `warmup` iterations composes with any of them (the wrapped schedule then starts when the
/// warm-up ends):
///   none       constant lr (with warm-up: the warm-up, then constant)
///   step       lr * gamma every step_size epochs (0: ceil(epochs / 3))
///   multistep  lr * gamma at each milestone epoch (none given: at 50% and 75% of the iterations)
///   cosine     cosine annealing to 0 over the iterations after the warm-up
///   onecycle   PyTorch's OneCycleLR with max_lr = lr over all iterations (momentum cycled 0.95 -> 0.85 -> 0.95)
///   plateau    lr * gamma when the epoch's test loss has not improved for `patience` epochs (per epoch)

#include <algorithm>
#include <memory>
#include <vector>

#include "strata/optim/schedule.hpp"
#include "strata/train/config.hpp"

namespace strata::train {

/// The schedule of `config` over `steps_per_epoch` iterations per epoch and config.epochs epochs, driving
/// `optimizer`'s groups (whose current lrs are the base lrs). Throws ArgumentError when steps_per_epoch < 1, for an
/// unknown schedule name, or for invalid schedule options.
inline optim::ScheduleDriver make_schedule(const TrainConfig& config, optim::LrControl& optimizer,
                                           index_t steps_per_epoch) {
    check<ArgumentError>(steps_per_epoch >= 1, "make_schedule: steps_per_epoch must be >= 1, got ", steps_per_epoch);
    const std::string& name = config.schedule;
    const index_t total = config.epochs * steps_per_epoch;
    if (name == "plateau")
        return optim::ScheduleDriver(std::make_unique<optim::ReduceLROnPlateau>(
            optimizer, optim::PlateauOptions().factor(config.gamma).patience(config.patience)));
    if (name == "onecycle")
        return optim::ScheduleDriver(
            std::make_unique<optim::OneCycleLR>(optimizer, optim::OneCycleOptions(config.lr, total)),
            optim::StepUnit::iteration);
    std::unique_ptr<optim::LrSchedule> schedule;
    if (name == "none") {
        if (config.warmup == 0) return optim::ScheduleDriver();
        schedule = std::make_unique<optim::ExponentialLR>(optimizer, 1.0);  // constant
    } else if (name == "step") {
        const index_t epochs = config.step_size > 0 ? config.step_size : (config.epochs + 2) / 3;
        schedule = std::make_unique<optim::StepLR>(optimizer, epochs * steps_per_epoch, config.gamma);
    } else if (name == "multistep") {
        std::vector<index_t> at;
        for (index_t m : config.milestones) at.push_back(m * steps_per_epoch);
        if (at.empty()) at = {total / 2, total * 3 / 4};
        schedule = std::make_unique<optim::MultiStepLR>(optimizer, at, config.gamma);
    } else if (name == "cosine") {
        schedule = std::make_unique<optim::CosineAnnealingLR>(optimizer, std::max<index_t>(1, total - config.warmup));
    } else {
        throw ArgumentError("make_schedule: unknown schedule '" + name + "'; valid: " + detail::joined(schedule_names()));
    }
    if (config.warmup > 0)
        schedule = std::make_unique<optim::LinearWarmup>(std::move(schedule), config.warmup, config.warmup_start);
    return optim::ScheduleDriver(std::move(schedule), optim::StepUnit::iteration);
}

/// After loading a schedule's state into a schedule built for a different number of epochs than the saved run,
/// moves it onto the new length: the lr (and momentum) become the new schedule's closed-form values at the same
/// step. Does nothing without a per-iteration schedule.
inline void rescale_schedule(optim::ScheduleDriver& driver) {
    if (optim::LrSchedule* s = driver.schedule()) s->jump_to(s->last_epoch());
}

}  // namespace strata::train
