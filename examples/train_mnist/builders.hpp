#pragma once
/// @file
/// The optimizer and the learning-rate schedule a TrainConfig names, built with the library's run-time
/// interface (optim::make_optimizer, optim::make_schedule): the optimizer over the model's parameters in two
/// groups (group 0: convolution/linear weights with --weight-decay; group 1: batch-norm parameters and biases,
/// without), the schedule per iteration with its lengths given in epochs converted to iterations.

#include <memory>

#include "config.hpp"
#include "strata/nn/module.hpp"
#include "strata/optim/any_optimizer.hpp"
#include "strata/optim/param_groups.hpp"
#include "strata/optim/schedule/by_name.hpp"

namespace strata::train {

/// The optimizer of the trainer (float).
using TrainOptimizer = optim::AnyOptimizer<float>;

/// The optimizer `config.optimizer` names, with config.lr and config.momentum (SGD's and RMSprop's momentum,
/// Adam's and AdamW's beta1; Adam's decay is L2 in the gradient, AdamW's decoupled). Throws ArgumentError for
/// an unknown name, an invalid option, or a model without parameters (naming the model).
inline std::unique_ptr<TrainOptimizer> make_optimizer(const TrainConfig& config, nn::Module<float>& model) {
    const auto split = optim::split_weight_decay(model.named_parameters());
    check<ArgumentError>(!split.decay.empty() || !split.no_decay.empty(), "make_optimizer: the model '", config.model,
                         "' has no parameters");
    return optim::make_optimizer<float>(optim::OptimizerSpec(config.optimizer)
                                            .lr(config.lr)
                                            .momentum(config.momentum)
                                            .weight_decay(config.weight_decay)
                                            .nesterov(config.nesterov),
                                        split);
}

/// The schedule of `config` over `steps_per_epoch` iterations per epoch and config.epochs epochs, driving
/// `optimizer`'s groups (see optim/schedule/by_name.hpp; --step-size, 0: ceil(epochs / 3), and --milestones are in
/// epochs, one-cycle's peak is --lr). Throws ArgumentError when steps_per_epoch < 1, for an unknown schedule name, or for invalid
/// schedule options.
inline optim::ScheduleDriver make_schedule(const TrainConfig& config, optim::LrControl& optimizer,
                                           index_t steps_per_epoch) {
    check<ArgumentError>(steps_per_epoch >= 1, "make_schedule: steps_per_epoch must be >= 1, got ", steps_per_epoch);
    const index_t step_epochs = config.step_size > 0 ? config.step_size : (config.epochs + 2) / 3;
    std::vector<index_t> milestones;
    for (index_t m : config.milestones) milestones.push_back(m * steps_per_epoch);
    return optim::make_schedule(optim::ScheduleSpec(config.schedule)
                                    .total_steps(config.epochs * steps_per_epoch)
                                    .max_lr(config.lr)
                                    .warmup(config.warmup)
                                    .warmup_start(config.warmup_start)
                                    .step_size(step_epochs * steps_per_epoch)
                                    .milestones(milestones)
                                    .gamma(config.gamma)
                                    .patience(config.patience),
                                optimizer);
}

using optim::rescale_schedule;

}  // namespace strata::train
