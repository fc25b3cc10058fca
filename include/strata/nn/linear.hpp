#pragma once
/// @file
/// Linear<T>: y = x W^T + b, like torch.nn.Linear.

#include "strata/nn/init.hpp"
#include "strata/nn/module.hpp"
#include "strata/core/options.hpp"
#include "strata/ops/linear.hpp"

namespace strata::nn {

/// Options of Linear (PyTorch's defaults: bias on).
struct LinearOptions {
    LinearOptions(index_t in_features, index_t out_features) : in_features_(in_features), out_features_(out_features) {}
    STRATA_ARG(index_t, in_features);
    STRATA_ARG(index_t, out_features);
    STRATA_ARG(bool, bias) = true;
};

/// Fully connected layer on [N, in_features] inputs. Parameters "weight" [out, in] and "bias" [out], initialised
/// like PyTorch (uniform in +-1/sqrt(in)) from the default generator.
template <class T>
class Linear : public Module<T> {
public:
    /// @throws ArgumentError when in_features or out_features is not positive, naming them.
    explicit Linear(const LinearOptions& options) : options_(options) {
        check<ArgumentError>(options.in_features() > 0 && options.out_features() > 0,
                             "Linear: in_features and out_features must be positive, got ", options.in_features(),
                             " and ", options.out_features());
        weight_ = &this->register_parameter("weight", Tensor<T>(Shape{options.out_features(), options.in_features()}));
        if (options.bias()) bias_ = &this->register_parameter("bias", Tensor<T>(Shape{options.out_features()}));
        reset_parameters(default_generator());
    }

    /// Re-draws the parameters with PyTorch's default initialisation.
    void reset_parameters(Generator& gen) {
        init::torch_default_weight(weight_->value, gen);
        if (bias_) init::torch_default_bias(bias_->value, static_cast<double>(options_.in_features()), gen);
    }

    /// @throws what linear() throws (ShapeError for an input that is not [N, in_features]).
    Var<T> forward(const Var<T>& x) override {
        return this->forward_scope([&] {
            Tape& tape = x.tape();
            return linear(x, tape.parameter(*weight_), bias_ ? tape.parameter(*bias_) : Var<T>());
        });
    }
    std::string type_name() const override { return "Linear"; }
    /// "Linear(in_features=512, out_features=10, bias=true)".
    void pretty_print(std::ostream& out) const override {
        out << "Linear(in_features=" << options_.in_features() << ", out_features=" << options_.out_features()
            << ", bias=" << (options_.bias() ? "true" : "false") << ')';
    }

    Parameter<T>& weight() { return *weight_; }
    /// The bias; null when built with bias(false).
    Parameter<T>* bias() { return bias_; }
    const LinearOptions& options() const { return options_; }

private:
    LinearOptions options_;
    Parameter<T>* weight_ = nullptr;
    Parameter<T>* bias_ = nullptr;
};

}  // namespace strata::nn
