#pragma once
/// @file
/// AnyOptimizer<T>: one run-time interface over SGD, Adam, AdamW and RMSprop (step, zero_grad, the LrControl that
/// schedules drive, the state tensors a checkpoint saves), and make_optimizer(), which builds the optimizer a
/// name picks, so that a program can choose one from its command line or a config file without writing its own
/// adapter:
///
///   auto opt = optim::make_optimizer<float>(optim::OptimizerSpec("adamw").lr(1e-3).weight_decay(0.05),
///                                           optim::split_weight_decay(net.named_parameters()));
///   auto schedule = optim::make_schedule(optim::ScheduleSpec("cosine").total_steps(n), opt->control());
///
/// With a WeightDecaySplit the optimizer has two groups: group 0 the decayed parameters (convolution and linear
/// weights) with the spec's weight decay, group 1 the others (batch-norm parameters, biases) without.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "strata/core/options.hpp"
#include "strata/optim/adam.hpp"
#include "strata/optim/param_groups.hpp"
#include "strata/optim/rmsprop.hpp"
#include "strata/optim/sgd.hpp"

namespace strata::optim {

/// An optimizer of scalar type T behind one interface; see the file comment. It has init_state() and
/// state_tensors(), so io::Checkpoint::add_optimizer / load_optimizer accept it.
template <class T>
class AnyOptimizer {
public:
    virtual ~AnyOptimizer() = default;
    /// Sets every gradient to zero.
    virtual void zero_grad() = 0;
    /// One update of every parameter from its gradient.
    virtual void step() = 0;
    /// The learning rates and momenta, for schedules.
    virtual LrControl& control() = 0;
    /// Every parameter of every group, in group order.
    virtual std::vector<Parameter<T>*> parameters() const = 0;
    /// Every state tensor with its name (see Optimizer::state_tensors).
    virtual std::vector<NamedStateTensor<T>> state_tensors() = 0;
    /// Creates any state tensor the current options need (see Optimizer::init_state).
    virtual void init_state() = 0;
};

/// AnyOptimizer over a concrete optimizer (SGD<T>, Adam<T>, ...), which it owns; get() reaches it.
template <class Opt>
class OptimizerHolder final : public AnyOptimizer<typename Opt::value_type> {
public:
    using T = typename Opt::value_type;
    /// Constructs the held optimizer from `args`.
    template <class... Args>
    explicit OptimizerHolder(Args&&... args) : opt_(std::forward<Args>(args)...) {}
    void zero_grad() override { opt_.zero_grad(); }
    void step() override { opt_.step(); }
    LrControl& control() override { return opt_; }
    std::vector<Parameter<T>*> parameters() const override { return opt_.parameters(); }
    std::vector<NamedStateTensor<T>> state_tensors() override { return opt_.state_tensors(); }
    void init_state() override { opt_.init_state(); }
    /// The held optimizer.
    Opt& get() { return opt_; }

private:
    Opt opt_;
};

/// The names make_optimizer() accepts.
inline const std::vector<std::string>& optimizer_names() {
    static const std::vector<std::string> names{"sgd", "adam", "adamw", "rmsprop"};
    return names;
}

/// Which optimizer make_optimizer() builds, with its common hyper-parameters.
struct OptimizerSpec {
    /// An optimizer called `name` (one of optimizer_names()).
    explicit OptimizerSpec(std::string name = "sgd") : name_(std::move(name)) {}
    /// sgd | adam | adamw | rmsprop
    STRATA_ARG(std::string, name);
    /// The learning rate.
    STRATA_ARG(double, lr) = 0.01;
    /// SGD's and RMSprop's momentum; Adam's and AdamW's beta1.
    STRATA_ARG(double, momentum) = 0.0;
    /// Adam's and AdamW's beta2.
    STRATA_ARG(double, beta2) = 0.999;
    /// Weight decay of the decayed group (Adam: L2 in the gradient; AdamW: decoupled).
    STRATA_ARG(double, weight_decay) = 0.0;
    /// Nesterov momentum (SGD only).
    STRATA_ARG(bool, nesterov) = false;
};

namespace detail {

inline std::string joined_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

/// A holder of an optimizer of `Options` with one group per entry of `groups`, each with its weight decay.
template <class Opt, class Options>
std::unique_ptr<AnyOptimizer<typename Opt::value_type>> with_groups(
    const Options& options, const std::vector<std::pair<std::vector<Parameter<typename Opt::value_type>*>, double>>& groups) {
    auto holder = std::make_unique<OptimizerHolder<Opt>>(options);
    for (const auto& [params, decay] : groups) holder->get().add_param_group(params, Options(options).weight_decay(decay));
    return holder;
}

template <class T>
std::unique_ptr<AnyOptimizer<T>> make_optimizer_groups(const OptimizerSpec& spec,
                                                       const std::vector<std::pair<std::vector<Parameter<T>*>, double>>& groups) {
    const double lr = spec.lr(), m = spec.momentum();
    const AdamBetas betas(m, spec.beta2());
    const std::string& name = spec.name();
    if (name == "sgd") return with_groups<SGD<T>>(SGDOptions(lr).momentum(m).nesterov(spec.nesterov()), groups);
    if (name == "adam") return with_groups<Adam<T>>(AdamOptions(lr).betas(betas), groups);
    if (name == "adamw") return with_groups<AdamW<T>>(AdamWOptions(lr).betas(betas), groups);
    if (name == "rmsprop") return with_groups<RMSprop<T>>(RMSpropOptions(lr).momentum(m), groups);
    throw ArgumentError("make_optimizer: unknown optimizer '" + name + "'; valid: " + joined_names(optimizer_names()));
}

}  // namespace detail

/// The optimizer `spec` names over `split` in two groups: group 0 = split.decay with spec.weight_decay(), group
/// 1 = split.no_decay without weight decay (an empty list gives an empty group). Throws ArgumentError for an
/// unknown name, an invalid option (naming it), or no parameters at all.
template <class T>
std::unique_ptr<AnyOptimizer<T>> make_optimizer(const OptimizerSpec& spec, const WeightDecaySplit<T>& split) {
    check<ArgumentError>(!split.decay.empty() || !split.no_decay.empty(), "make_optimizer: no parameters to optimize");
    return detail::make_optimizer_groups<T>(spec, {{split.decay, spec.weight_decay()}, {split.no_decay, 0.0}});
}

/// The optimizer `spec` names over `params` in one group with spec.weight_decay(). Throws as the overload above.
template <class T>
std::unique_ptr<AnyOptimizer<T>> make_optimizer(const OptimizerSpec& spec, const std::vector<Parameter<T>*>& params) {
    check<ArgumentError>(!params.empty(), "make_optimizer: no parameters to optimize");
    return detail::make_optimizer_groups<T>(spec, {{params, spec.weight_decay()}});
}

}  // namespace strata::optim
