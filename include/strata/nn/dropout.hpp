#pragma once
/// @file
/// Dropout<T>: inverted dropout in training mode, identity in eval mode, like torch.nn.Dropout.

#include "strata/nn/init.hpp"
#include "strata/nn/module.hpp"
#include "strata/ops/dropout.hpp"

namespace strata::nn {

/// Zeroes each element with probability p in training mode and scales the rest by 1/(1-p). Its masks come from
/// its own generator, seeded from the default generator at construction (reproducible after manual_seed).
template <class T>
class Dropout : public Module<T> {
public:
    /// @throws ArgumentError when p is outside [0, 1], naming it.
    explicit Dropout(double p = 0.5) : p_(p), gen_(default_generator().next_u64()) {
        check<ArgumentError>(p >= 0.0 && p <= 1.0, "Dropout: probability must be in [0, 1], got ", p);
    }
    /// @throws what dropout() throws (LifetimeError, NumericError in anomaly mode).
    Var<T> forward(const Var<T>& x) override {
        return this->forward_scope([&] { return dropout(x, p_, this->is_training(), gen_); });
    }
    std::string type_name() const override { return "Dropout"; }
    /// "Dropout(p=0.5)".
    void pretty_print(std::ostream& out) const override { out << "Dropout(p=" << p_ << ')'; }
    double p() const { return p_; }
    /// The mask generator (its state belongs in a resumable checkpoint).
    Generator& generator() { return gen_; }

private:
    double p_;
    Generator gen_;
};

}  // namespace strata::nn
