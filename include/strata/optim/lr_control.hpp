#pragma once
/// @file
/// LrControl: the small non-templated view of an optimizer that learning-rate schedules drive (the learning
/// rate and, for one-cycle momentum cycling, the momentum of each parameter group), so that one schedule works
/// with any optimizer and any element type.

#include <cstddef>
#include <string>

#include "strata/core/error.hpp"

namespace strata::optim {

/// The per-group hyper-parameters a schedule reads and writes. Every optimizer implements it.
class LrControl {
public:
    virtual ~LrControl() = default;

    /// The optimizer's name for messages ("SGD", "Adam").
    virtual std::string name() const = 0;
    /// Number of parameter groups.
    virtual std::size_t group_count() const = 0;
    /// The learning rate of group `group`; throws ArgumentError when the group does not exist.
    /// @throws ArgumentError when `group` does not exist.
    virtual double lr(std::size_t group) const = 0;
    /// Sets the learning rate of group `group`; throws ArgumentError for a missing group or a NaN rate (a
    /// negative rate is rejected when the optimizer steps).
    /// @throws ArgumentError when `group` does not exist or `lr` is NaN.
    virtual void set_lr(std::size_t group, double lr) = 0;

    /// Whether the optimizer has a momentum-like hyper-parameter (SGD and RMSprop momentum, Adam's beta1), as
    /// torch.optim.lr_scheduler.OneCycleLR requires for cycle_momentum.
    virtual bool has_momentum() const { return false; }
    /// The momentum (or beta1) of group `group`; the default throws ArgumentError (no momentum).
    /// @throws ArgumentError when the optimizer has no momentum or `group` does not exist.
    virtual double momentum(std::size_t group) const {
        throw ArgumentError(detail::concat(name(), ": has no momentum (asked for group ", group, ")"));
    }
    /// Sets the momentum (or beta1) of group `group`; the default throws ArgumentError (no momentum).
    /// @throws ArgumentError when the optimizer has no momentum or `group` does not exist.
    virtual void set_momentum(std::size_t group, double value) {
        throw ArgumentError(
            detail::concat(name(), ": has no momentum (cannot set group ", group, " to ", value, ")"));
    }
};

}  // namespace strata::optim
