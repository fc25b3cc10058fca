#pragma once
/// @file
/// StepLR, MultiStepLR and ExponentialLR: multiplicative decays, as torch.optim.lr_scheduler's (PyTorch 1.13).

#include <algorithm>
#include <cmath>
#include <vector>

#include "strata/optim/schedule/base.hpp"

namespace strata::optim {

/// Multiplies every group's lr by gamma every `step_size` steps: lr = base_lr * gamma^(last_epoch / step_size).
class StepLR : public detail::ChainedSchedule {
public:
    /// Throws ArgumentError when step_size < 1 or gamma is negative or not finite.
    /// @throws ArgumentError when step_size < 1, gamma is negative or not finite, or the optimizer has no groups.
    StepLR(LrControl& optimizer, index_t step_size, double gamma = 0.1)
        : ChainedSchedule(optimizer, "StepLR"), step_size_(step_size), gamma_(gamma) {
        check<ArgumentError>(step_size >= 1, "StepLR: step_size must be at least 1, got ", step_size);
        check<ArgumentError>(gamma >= 0 && std::isfinite(gamma), "StepLR: gamma must be finite and >= 0, got ",
                             gamma);
        start();
    }
    /// Steps between two decays.
    index_t step_size() const { return step_size_; }
    /// The decay factor.
    double gamma() const { return gamma_; }

protected:
    double chained_lr(std::size_t, double current) const override {
        return (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) ? current : current * gamma_;
    }
    double closed_form_lr(std::size_t g) const override {
        return base_lrs_[g] * std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_));
    }

private:
    index_t step_size_;
    double gamma_;
};

/// Multiplies every group's lr by gamma at each milestone: lr = base_lr * gamma^(number of milestones <=
/// last_epoch). A milestone listed k times multiplies by gamma^k, as PyTorch's Counter.
class MultiStepLR : public detail::ChainedSchedule {
public:
    /// Throws ArgumentError on a negative milestone or a gamma that is negative or not finite. The milestones
    /// need not be sorted.
    /// @throws ArgumentError on a negative milestone, a negative or non-finite gamma, or an optimizer without
    /// groups.
    MultiStepLR(LrControl& optimizer, std::vector<index_t> milestones, double gamma = 0.1)
        : ChainedSchedule(optimizer, "MultiStepLR"), milestones_(std::move(milestones)), gamma_(gamma) {
        for (index_t m : milestones_)
            check<ArgumentError>(m >= 0, "MultiStepLR: milestones must be non-negative, got ", m);
        check<ArgumentError>(gamma >= 0 && std::isfinite(gamma),
                             "MultiStepLR: gamma must be finite and >= 0, got ", gamma);
        std::sort(milestones_.begin(), milestones_.end());
        start();
    }
    /// The milestones, sorted.
    const std::vector<index_t>& milestones() const { return milestones_; }
    /// The decay factor.
    double gamma() const { return gamma_; }

protected:
    double chained_lr(std::size_t, double current) const override {
        const auto range = std::equal_range(milestones_.begin(), milestones_.end(), last_epoch_);
        const auto count = range.second - range.first;
        return count == 0 ? current : current * std::pow(gamma_, static_cast<double>(count));
    }
    double closed_form_lr(std::size_t g) const override {
        const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
        return base_lrs_[g] * std::pow(gamma_, static_cast<double>(passed));
    }

private:
    std::vector<index_t> milestones_;
    double gamma_;
};

/// Multiplies every group's lr by gamma every step: lr = base_lr * gamma^last_epoch.
class ExponentialLR : public detail::ChainedSchedule {
public:
    /// Throws ArgumentError when gamma is negative or not finite.
    /// @throws ArgumentError when gamma is negative or not finite, or the optimizer has no groups.
    ExponentialLR(LrControl& optimizer, double gamma) : ChainedSchedule(optimizer, "ExponentialLR"), gamma_(gamma) {
        check<ArgumentError>(gamma >= 0 && std::isfinite(gamma),
                             "ExponentialLR: gamma must be finite and >= 0, got ", gamma);
        start();
    }
    /// The decay factor.
    double gamma() const { return gamma_; }

protected:
    double chained_lr(std::size_t, double current) const override {
        return last_epoch_ == 0 ? current : current * gamma_;
    }
    double closed_form_lr(std::size_t g) const override {
        return base_lrs_[g] * std::pow(gamma_, static_cast<double>(last_epoch_));
    }

private:
    double gamma_;
};

}  // namespace strata::optim
