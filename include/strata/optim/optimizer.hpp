#pragma once
/// @file
/// Optimizer<T, Options, State>: the one loop over parameter groups that every optimizer shares. A concrete
/// optimizer (SGD, Adam, AdamW, RMSprop) supplies its options struct, its per-parameter state and its update
/// rule; the base class owns the groups, the state, step(), zero_grad(), the per-group learning rate used by
/// schedules (LrControl) and the export of the state for checkpoints.
///
/// State lifetime: a parameter's state tensors are created, zero-filled, when its group is added (eagerly, for
/// the options the group has then), and any tensor that later options need (an option switched on after
/// construction) is created at the next step() or init_state(). So a freshly built optimizer already lists every
/// state tensor in state_tensors(): a checkpoint loader builds the optimizer with the same groups and options,
/// calls init_state(), copies the saved values into the state_tensors() pointers, and the resumed run continues
/// bit-identically. Step counts are stored as rank-0 tensors named "step" (exact up to 2^24 in float, as
/// PyTorch's float32 step tensors).

#include <cmath>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "strata/autograd/parameter.hpp"
#include "strata/optim/lr_control.hpp"

namespace strata::optim {

/// A named state tensor of an optimizer ("group.0.param.3.exp_avg") and where it lives.
template <class T>
using NamedStateTensor = std::pair<std::string, Tensor<T>*>;

namespace detail {

/// Makes `t` a zero tensor of `shape` when `needed` and it does not exist yet; throws ShapeError when it exists
/// with another shape (the parameter was reshaped after the optimizer was built).
/// @throws ShapeError when `t` exists with another shape than `shape`, naming both.
template <class T>
void ensure_state(Tensor<T>& t, const Shape& shape, bool needed, const char* what) {
    if (!t.empty() || t.rank() != 0) {  // exists (a default-constructed Tensor is empty with rank 0)
        check<ShapeError>(t.shape() == shape, "optimizer state '", what, "' has shape ", t.shape(),
                          " but its parameter has shape ", shape);
        return;
    }
    if (needed) t = Tensor<T>(shape);
}

/// Makes `t` a rank-0 zero tensor (a step counter) when it does not exist yet.
template <class T>
void ensure_counter(Tensor<T>& t) {
    if (t.empty()) t = Tensor<T>(Shape{});
}

}  // namespace detail

/// Base class of the optimizers: parameter groups with their own options, per-parameter state, one step loop.
///
/// Requirements on `Options`: `double lr() const`, a chainable setter `lr(double)` and `void validate() const`
/// (throws ArgumentError naming the bad value). Requirements on `State`: default constructible and movable,
/// `void ensure(const Shape& param_shape, const Options&)` creating the zero tensors the options need, and
/// `template <class F> void visit(F&& f)` calling `f(const char* name, Tensor<T>&)` for each existing tensor.
template <class T, class Options, class State>
class Optimizer : public LrControl {
public:
    using value_type = T;
    using options_type = Options;
    using state_type = State;

    /// A list of parameters optimized with the same options.
    struct ParamGroup {
        /// The group's parameters (not owned; they must outlive the optimizer).
        std::vector<Parameter<T>*> params;
        /// The group's options (change them through options(g)).
        Options options;
    };

    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;
    Optimizer(Optimizer&&) = default;
    Optimizer& operator=(Optimizer&&) = default;
    ~Optimizer() override = default;

    /// Adds a group of parameters with their own options (validated; ArgumentError on a bad option, a null
    /// pointer or a parameter already in a group). An empty list is allowed (an empty group). Creates the
    /// group's state.
    /// @throws ArgumentError on an invalid option, a null pointer or a parameter already in a group, naming it.
    /// @throws ShapeError when an existing state tensor has another shape than its parameter.
    void add_param_group(std::vector<Parameter<T>*> params, const Options& options) {
        options.validate();
        for (std::size_t i = 0; i < params.size(); ++i) {
            check<ArgumentError>(params[i] != nullptr, name_, ": parameter ", i, " of new group ", groups_.size(),
                                 " is null");
            check<ArgumentError>(members_.count(params[i]) == 0, name_, ": parameter ", i, " of new group ",
                                 groups_.size(), " already appears in a parameter group");
        }
        for (std::size_t i = 0; i < params.size(); ++i) members_.insert(params[i]);
        std::vector<State> states(params.size());
        for (std::size_t i = 0; i < params.size(); ++i) states[i].ensure(params[i]->value.shape(), options);
        groups_.push_back(ParamGroup{std::move(params), options});
        states_.push_back(std::move(states));
    }
    /// Adds a group of parameters with the optimizer's default options.
    void add_param_group(std::vector<Parameter<T>*> params) { add_param_group(std::move(params), defaults_); }

    /// One optimization step: for each group, for each parameter with requires_grad, applies the update rule
    /// with the group's options to `value` using `grad`. Frozen parameters (requires_grad false) are skipped and
    /// their state untouched, like parameters without .grad in PyTorch. Throws ArgumentError when a group's
    /// options became invalid and ShapeError when a gradient's shape differs from its parameter's.
    /// @throws ArgumentError when a group's options became invalid (e.g. a negative lr set by a schedule).
    /// @throws ShapeError when a gradient or a state tensor has another shape than its parameter, naming both.
    void step() {
        for (std::size_t g = 0; g < groups_.size(); ++g) {
            ParamGroup& group = groups_[g];
            group.options.validate();
            for (std::size_t i = 0; i < group.params.size(); ++i) {
                Parameter<T>& p = *group.params[i];
                if (!p.requires_grad) continue;
                check<ShapeError>(p.grad().shape() == p.value.shape(), name_, ".step: parameter ", i, " of group ", g,
                                  " has a gradient of shape ", p.grad().shape(), " but a value of shape ",
                                  p.value.shape());
                State& s = states_[g][i];
                s.ensure(p.value.shape(), group.options);
                update(p, s, group.options);
            }
        }
    }

    /// Sets the gradient of every parameter of every group to zero (PyTorch's zero_grad(set_to_none=False)).
    void zero_grad() {
        for (ParamGroup& group : groups_)
            for (Parameter<T>* p : group.params) p->zero_grad();
    }

    /// The groups, in the order they were added.
    const std::vector<ParamGroup>& groups() const { return groups_; }
    /// The options of group `group`, to change them between steps (validated at the next step); throws
    /// ArgumentError for a missing group.
    /// @throws ArgumentError when `group` does not exist.
    Options& options(std::size_t group) { return groups_[checked_group(group)].options; }
    /// @throws ArgumentError when `group` does not exist.
    const Options& options(std::size_t group) const { return groups_[checked_group(group)].options; }
    /// The options add_param_group(params) uses.
    const Options& defaults() const { return defaults_; }
    /// Every parameter of every group, in group order.
    std::vector<Parameter<T>*> parameters() const {
        std::vector<Parameter<T>*> out;
        for (const ParamGroup& group : groups_) out.insert(out.end(), group.params.begin(), group.params.end());
        return out;
    }

    /// The state of parameter `index` of group `group`; throws ArgumentError when it does not exist.
    /// @throws ArgumentError when the group or the parameter does not exist.
    State& state(std::size_t group, std::size_t index) {
        checked_group(group);
        check<ArgumentError>(index < states_[group].size(), name_, ": group ", group, " has ",
                             states_[group].size(), " parameters, asked for parameter ", index);
        return states_[group][index];
    }
    /// Creates, zero-filled, any state tensor the current options need and that does not exist yet (for a
    /// checkpoint loader, after options or schedules changed options such as momentum).
    /// @throws ShapeError when an existing state tensor has another shape than its parameter.
    void init_state() {
        for (std::size_t g = 0; g < groups_.size(); ++g)
            for (std::size_t i = 0; i < groups_[g].params.size(); ++i)
                states_[g][i].ensure(groups_[g].params[i]->value.shape(), groups_[g].options);
    }
    /// Every existing state tensor, named "group.<g>.param.<i>.<name>" (e.g. "group.1.param.0.exp_avg"), in
    /// group, parameter and field order. The pointers stay valid until the next add_param_group().
    std::vector<NamedStateTensor<T>> state_tensors() {
        std::vector<NamedStateTensor<T>> out;
        for (std::size_t g = 0; g < states_.size(); ++g)
            for (std::size_t i = 0; i < states_[g].size(); ++i) {
                const std::string prefix = "group." + std::to_string(g) + ".param." + std::to_string(i) + ".";
                states_[g][i].visit([&](const char* field, Tensor<T>& t) { out.emplace_back(prefix + field, &t); });
            }
        return out;
    }

    /// The optimizer's name ("SGD").
    std::string name() const final { return name_; }
    /// Number of parameter groups.
    std::size_t group_count() const final { return groups_.size(); }
    /// The learning rate of group `group`; throws ArgumentError when it does not exist.
    /// @throws ArgumentError when `group` does not exist.
    double lr(std::size_t group) const final { return groups_[checked_group(group)].options.lr(); }
    /// Schedules may set any lr (PyTorch's OneCycleLR goes slightly negative after its last step); a negative
    /// one is rejected by the next step(), a NaN one here.
    /// @throws ArgumentError when `group` does not exist or `lr` is NaN.
    void set_lr(std::size_t group, double lr) final {
        check<ArgumentError>(!std::isnan(lr), name_, ": invalid learning rate ", lr, " for group ", group);
        groups_[checked_group(group)].options.lr(lr);
    }

protected:
    /// An optimizer without groups; add them with add_param_group.
    /// @throws ArgumentError on invalid defaults.
    Optimizer(std::string name, const Options& defaults) : name_(std::move(name)), defaults_(defaults) {
        defaults_.validate();
    }
    /// An optimizer with one group of `params` with `defaults`; throws ArgumentError on an empty list.
    /// @throws ArgumentError on invalid options, an empty list, a null or repeated parameter.
    Optimizer(std::string name, std::vector<Parameter<T>*> params, const Options& defaults)
        : Optimizer(std::move(name), defaults) {
        check<ArgumentError>(!params.empty(), name_, ": got an empty parameter list");
        add_param_group(std::move(params), defaults_);
    }

    /// Applies one update to `p` (whose grad has p's shape) with state `s` (ensured for `options`).
    virtual void update(Parameter<T>& p, State& s, const Options& options) = 0;

private:
    std::size_t checked_group(std::size_t group) const {
        check<ArgumentError>(group < groups_.size(), name_, ": has ", groups_.size(),
                             " parameter groups, asked for group ", group);
        return group;
    }

    std::string name_;
    Options defaults_;
    std::vector<ParamGroup> groups_;
    std::vector<std::vector<State>> states_;
    std::unordered_set<const Parameter<T>*> members_;
};

}  // namespace strata::optim
