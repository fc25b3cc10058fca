#pragma once
/// @file
/// CosineAnnealingLR: cosine annealing from the base lr to eta_min over T_max steps, as
/// torch.optim.lr_scheduler.CosineAnnealingLR (PyTorch 1.13, chained form, so that past T_max the lr rises
/// again along the cosine, as PyTorch's does).

#include <cmath>

#include "strata/optim/schedule/base.hpp"

namespace strata::optim {

/// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2, computed recursively from the
/// current lr as PyTorch's step() does (so changes made to the lr from outside carry over, as in PyTorch).
class CosineAnnealingLR : public detail::ChainedSchedule {
public:
    /// Throws ArgumentError when t_max < 1 or eta_min is negative or not finite.
    /// @throws ArgumentError when t_max < 1, eta_min is negative or not finite, or the optimizer has no groups.
    CosineAnnealingLR(LrControl& optimizer, index_t t_max, double eta_min = 0.0)
        : ChainedSchedule(optimizer, "CosineAnnealingLR"), t_max_(t_max), eta_min_(eta_min) {
        check<ArgumentError>(t_max >= 1, "CosineAnnealingLR: T_max must be at least 1, got ", t_max);
        check<ArgumentError>(eta_min >= 0 && std::isfinite(eta_min),
                             "CosineAnnealingLR: eta_min must be finite and >= 0, got ", eta_min);
        start();
    }
    /// Steps of the half cosine period.
    index_t t_max() const { return t_max_; }
    /// The lowest lr.
    double eta_min() const { return eta_min_; }

protected:
    double chained_lr(std::size_t g, double current) const override {
        const double pi = detail::pi, t = static_cast<double>(t_max_), e = static_cast<double>(last_epoch_);
        if (last_epoch_ == 0) return current;
        if (detail::floor_mod(last_epoch_ - 1 - t_max_, 2 * t_max_) == 0)
            return current + (base_lrs_[g] - eta_min_) * (1 - std::cos(pi / t)) / 2;
        return (1 + std::cos(pi * e / t)) / (1 + std::cos(pi * (e - 1) / t)) * (current - eta_min_) + eta_min_;
    }
    double closed_form_lr(std::size_t g) const override {
        const double pi = detail::pi, t = static_cast<double>(t_max_), e = static_cast<double>(last_epoch_);
        return eta_min_ + (base_lrs_[g] - eta_min_) * (1 + std::cos(pi * e / t)) / 2;
    }

private:
    index_t t_max_;
    double eta_min_;
};

}  // namespace strata::optim
