#pragma once
/// @file
/// TrainOptimizer: one interface over SGD, Adam, AdamW and RMSprop for a training loop (step, zero_grad, the
/// LrControl that schedules drive, the state tensors a checkpoint saves), and make_optimizer(), which builds the
/// optimizer a TrainConfig names over a model's parameters in two groups: convolution/linear weights with the
/// configured weight decay, batch-norm parameters and biases without (optim::split_weight_decay).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "strata/nn/module.hpp"
#include "strata/optim/adam.hpp"
#include "strata/optim/param_groups.hpp"
#include "strata/optim/rmsprop.hpp"
#include "strata/optim/sgd.hpp"
#include "strata/train/config.hpp"

namespace strata::train {

/// A float optimizer behind one interface; see the file comment. It has init_state() and state_tensors(), so
/// io::Checkpoint::add_optimizer / load_optimizer accept it.
class TrainOptimizer {
public:
    virtual ~TrainOptimizer() = default;
    /// Sets every gradient to zero.
    virtual void zero_grad() = 0;
    /// One update of every parameter from its gradient.
    virtual void step() = 0;
    /// The learning rates and momenta, for schedules.
    virtual optim::LrControl& control() = 0;
    /// Every parameter of every group, in group order.
    virtual std::vector<Parameter<float>*> parameters() const = 0;
    /// Every state tensor with its name (see optim::Optimizer::state_tensors).
    virtual std::vector<optim::NamedStateTensor<float>> state_tensors() = 0;
    /// Creates any state tensor the current options need (see optim::Optimizer::init_state).
    virtual void init_state() = 0;
};

namespace detail {

/// TrainOptimizer over a concrete optim::Optimizer, which it owns.
template <class Opt>
class OptimizerAdapter final : public TrainOptimizer {
public:
    template <class... Args>
    explicit OptimizerAdapter(Args&&... args) : opt_(std::forward<Args>(args)...) {}
    void zero_grad() override { opt_.zero_grad(); }
    void step() override { opt_.step(); }
    optim::LrControl& control() override { return opt_; }
    std::vector<Parameter<float>*> parameters() const override { return opt_.parameters(); }
    std::vector<optim::NamedStateTensor<float>> state_tensors() override { return opt_.state_tensors(); }
    void init_state() override { opt_.init_state(); }
    /// The wrapped optimizer.
    Opt& get() { return opt_; }

private:
    Opt opt_;
};

/// An adapter over an optimizer of `Options` with group 0 = the decayed parameters (weight decay `decay`) and
/// group 1 = the others (no decay).
template <class Opt, class Options>
std::unique_ptr<TrainOptimizer> two_groups(const optim::WeightDecaySplit<float>& split, Options options, double decay) {
    auto adapter = std::make_unique<OptimizerAdapter<Opt>>(options);
    adapter->get().add_param_group(split.decay, Options(options).weight_decay(decay));
    adapter->get().add_param_group(split.no_decay, Options(options).weight_decay(0.0));
    return adapter;
}

}  // namespace detail

/// The optimizer `config.optimizer` names, over `model`'s parameters in two groups (group 0: rank >= 2, with
/// config.weight_decay; group 1: the rest, without), with config.lr and config.momentum (SGD's and RMSprop's
/// momentum, Adam's and AdamW's beta1; Adam's decay is L2 in the gradient, AdamW's decoupled). Throws
/// ArgumentError for an unknown name, an invalid option, or a model without parameters.
inline std::unique_ptr<TrainOptimizer> make_optimizer(const TrainConfig& config, nn::Module<float>& model) {
    const auto split = optim::split_weight_decay(model.named_parameters());
    check<ArgumentError>(!split.decay.empty() || !split.no_decay.empty(), "make_optimizer: the model '", config.model,
                         "' has no parameters");
    const double lr = config.lr, m = config.momentum, wd = config.weight_decay;
    const optim::AdamBetas betas(m, 0.999);
    if (config.optimizer == "sgd")
        return detail::two_groups<optim::SGD<float>>(split, optim::SGDOptions(lr).momentum(m).nesterov(config.nesterov), wd);
    if (config.optimizer == "adam")
        return detail::two_groups<optim::Adam<float>>(split, optim::AdamOptions(lr).betas(betas), wd);
    if (config.optimizer == "adamw")
        return detail::two_groups<optim::AdamW<float>>(split, optim::AdamWOptions(lr).betas(betas), wd);
    if (config.optimizer == "rmsprop")
        return detail::two_groups<optim::RMSprop<float>>(split, optim::RMSpropOptions(lr).momentum(m), wd);
    throw ArgumentError("make_optimizer: unknown optimizer '" + config.optimizer + "'; valid: " +
                        detail::joined(optimizer_names()));
}

}  // namespace strata::train
