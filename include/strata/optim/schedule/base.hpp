#pragma once
/// @file
/// LrSchedule: the base of the epoch-counting learning-rate schedules (step, multi-step, exponential, cosine,
/// linear warm-up, one-cycle), the counterpart of torch.optim.lr_scheduler._LRScheduler (PyTorch 1.13).
///
/// A schedule drives any optimizer through LrControl. Constructing one records each group's current lr as its
/// base lr and performs PyTorch's initial step (last_epoch becomes 0). step() advances by one; whether a step is
/// an iteration or an epoch is the caller's choice (see ScheduleDriver). Schedules that PyTorch computes in
/// chained form (from the group's current lr) are computed the same way here, so the sequences agree with
/// PyTorch to the last bit or nearly; jump_to(epoch) uses PyTorch's closed forms.

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "strata/core/shape.hpp"
#include "strata/optim/lr_control.hpp"

namespace strata::optim {

/// Base of the learning-rate schedules stepped without a metric. A schedule keeps a pointer to its optimizer,
/// which must outlive it and stay where it is (not be moved).
class LrSchedule {
public:
    LrSchedule(const LrSchedule&) = delete;
    LrSchedule& operator=(const LrSchedule&) = delete;
    virtual ~LrSchedule() = default;

    /// Advances by one iteration or epoch and sets every group's lr (PyTorch's scheduler.step()).
    /// @throws ArgumentError when the optimizer's group count changed since construction (OneCycleLR: also
    /// when stepped past total_steps).
    virtual void step() = 0;
    /// Sets last_epoch to `epoch` (>= 0) and every group's lr to the closed-form value there (PyTorch's
    /// deprecated step(epoch)); throws ArgumentError on a negative epoch.
    /// @throws ArgumentError on a negative (or, OneCycleLR, too large) epoch or a changed group count.
    virtual void jump_to(index_t epoch) = 0;

    /// The schedule's name for messages ("StepLR").
    const std::string& name() const { return name_; }
    /// Number of steps taken since construction (0 right after it, like PyTorch's last_epoch).
    index_t last_epoch() const { return last_epoch_; }
    /// The lr of each group when the schedule was built (PyTorch's base_lrs / initial_lr).
    const std::vector<double>& base_lrs() const { return base_lrs_; }
    /// The current lr of each group (PyTorch's get_last_lr()).
    std::vector<double> last_lr() const {
        std::vector<double> out(opt_->group_count());
        for (std::size_t g = 0; g < out.size(); ++g) out[g] = opt_->lr(g);
        return out;
    }
    /// The optimizer this schedule drives.
    LrControl& optimizer() const { return *opt_; }

    /// The schedule's state as doubles for a checkpoint: last_epoch, the base lrs, the current lrs (and, in
    /// subclasses, what else they need, appended).
    virtual std::vector<double> state() const {
        std::vector<double> out{static_cast<double>(last_epoch_)};
        out.insert(out.end(), base_lrs_.begin(), base_lrs_.end());
        const std::vector<double> lrs = last_lr();
        out.insert(out.end(), lrs.begin(), lrs.end());
        return out;
    }
    /// Restores a state() of a schedule built the same way (and sets the optimizer's lrs); throws ArgumentError
    /// on a state of the wrong size or with a bad last_epoch.
    /// @throws ArgumentError on a state of the wrong size or with a bad last_epoch.
    virtual void load_state(const std::vector<double>& state) { load_base_state(state, base_state_size()); }

protected:
    /// Records the base lrs of `optimizer`; the subclass constructor calls start() once it is set up.
    /// @throws ArgumentError when the optimizer has no parameter groups.
    LrSchedule(LrControl& optimizer, std::string name) : opt_(&optimizer), name_(std::move(name)) {
        check<ArgumentError>(optimizer.group_count() > 0, name_, ": the optimizer has no parameter groups");
        base_lrs_.resize(optimizer.group_count());
        for (std::size_t g = 0; g < base_lrs_.size(); ++g) base_lrs_[g] = optimizer.lr(g);
    }
    /// PyTorch's initial step: from last_epoch -1 to 0.
    void start() { step(); }
    /// Throws ArgumentError when the optimizer's group count changed since construction.
    void check_groups() const {
        check<ArgumentError>(opt_->group_count() == base_lrs_.size(), name_, ": built for ", base_lrs_.size(),
                             " parameter groups but the optimizer now has ", opt_->group_count());
    }
    /// Size of the base part of state().
    std::size_t base_state_size() const { return 1 + 2 * base_lrs_.size(); }
    /// Restores the base part of `state`, which must have `expected_size` doubles in all.
    void load_base_state(const std::vector<double>& state, std::size_t expected_size) {
        check_groups();
        check<ArgumentError>(state.size() == expected_size && expected_size >= base_state_size(), name_,
                             ": state has ", state.size(), " values, expected ", expected_size);
        check<ArgumentError>(state[0] >= -1 && state[0] == std::floor(state[0]), name_, ": bad last_epoch ",
                             state[0], " in state");
        last_epoch_ = static_cast<index_t>(state[0]);
        const std::size_t n = base_lrs_.size();
        for (std::size_t g = 0; g < n; ++g) {
            base_lrs_[g] = state[1 + g];
            opt_->set_lr(g, state[1 + n + g]);
        }
    }

    LrControl* opt_;
    std::string name_;
    std::vector<double> base_lrs_;
    index_t last_epoch_ = -1;
};

namespace detail {

/// A schedule PyTorch computes in chained form in step() (get_lr from the group's current lr) and in closed
/// form in step(epoch) (_get_closed_form_lr).
class ChainedSchedule : public LrSchedule {
public:
    /// PyTorch's chained step.
    /// @throws ArgumentError when the optimizer's group count changed since construction.
    void step() override {
        check_groups();
        ++last_epoch_;
        for (std::size_t g = 0; g < base_lrs_.size(); ++g) opt_->set_lr(g, chained_lr(g, opt_->lr(g)));
    }
    /// PyTorch's closed form at `epoch`.
    /// @throws ArgumentError on a negative epoch or a changed group count.
    void jump_to(index_t epoch) override {
        check_groups();
        check<ArgumentError>(epoch >= 0, name_, ": cannot jump to negative epoch ", epoch);
        last_epoch_ = epoch;
        for (std::size_t g = 0; g < base_lrs_.size(); ++g) opt_->set_lr(g, closed_form_lr(g));
    }

protected:
    using LrSchedule::LrSchedule;
    /// The lr of group `g` at last_epoch_ (already advanced) given its current lr.
    virtual double chained_lr(std::size_t g, double current) const = 0;
    /// The lr of group `g` at last_epoch_ from its base lr alone.
    virtual double closed_form_lr(std::size_t g) const = 0;
};

/// Python's math.pi (the double nearest pi).
inline constexpr double pi = 3.14159265358979323846;

/// Python's a % m for m > 0 (never negative).
inline index_t floor_mod(index_t a, index_t m) { return ((a % m) + m) % m; }

}  // namespace detail

}  // namespace strata::optim
