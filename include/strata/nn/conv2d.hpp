#pragma once
/// @file
/// Conv2d<T>: 2-D convolution over [N, C, H, W], like torch.nn.Conv2d (square kernels, no dilation/groups).

#include <memory>

#include "strata/nn/init.hpp"
#include "strata/nn/module.hpp"
#include "strata/core/options.hpp"
#include "strata/ops/conv2d.hpp"

namespace strata::nn {

/// Options of Conv2d (PyTorch's defaults: stride 1, padding 0, bias on).
struct Conv2dOptions {
    Conv2dOptions(index_t in_channels, index_t out_channels, index_t kernel_size)
        : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
    STRATA_ARG(index_t, in_channels);
    STRATA_ARG(index_t, out_channels);
    STRATA_ARG(index_t, kernel_size);
    STRATA_ARG(index_t, stride) = 1;
    STRATA_ARG(index_t, padding) = 0;
    STRATA_ARG(bool, bias) = true;
};

/// Convolution layer. Parameters "weight" [out, in, k, k] and optional "bias" [out], initialised like PyTorch
/// from the default generator (model factories re-initialise with Kaiming normal). A forward that records
/// nothing on the tape (inference) packs the weight for the GEMM kernels once and keeps it (weight_cache()) until
/// the weight changes.
template <class T>
class Conv2d : public Module<T> {
public:
    /// @throws ArgumentError when a channel count or the kernel size is not positive, the stride is not positive or
    /// the padding is negative, naming the values.
    explicit Conv2d(const Conv2dOptions& options) : options_(options) {
        check<ArgumentError>(options.in_channels() > 0 && options.out_channels() > 0 && options.kernel_size() > 0,
                             "Conv2d: channels and kernel size must be positive, got in ", options.in_channels(),
                             ", out ", options.out_channels(), ", kernel ", options.kernel_size());
        check<ArgumentError>(options.stride() > 0 && options.padding() >= 0, "Conv2d: bad stride ", options.stride(),
                             " or padding ", options.padding());
        weight_ = &this->register_parameter(
            "weight", Tensor<T>(Shape{options.out_channels(), options.in_channels(), options.kernel_size(),
                                      options.kernel_size()}));
        if (options.bias()) bias_ = &this->register_parameter("bias", Tensor<T>(Shape{options.out_channels()}));
        weight_cache_ = std::make_unique<ConvWeightCache<T>>(weight_->value);
        reset_parameters(default_generator());
    }

    /// Re-draws the parameters with PyTorch's default initialisation.
    void reset_parameters(Generator& gen) {
        init::torch_default_weight(weight_->value, gen);
        if (bias_) init::torch_default_bias(bias_->value, init::fans(weight_->value).in, gen);
    }

    /// @throws what conv2d() throws (ShapeError for an input that is not [N, in_channels, H, W] or smaller than
    /// the kernel).
    Var<T> forward(const Var<T>& x) override {
        return this->forward_scope([&] {
            Tape& tape = x.tape();
            return conv2d(x, tape.parameter(*weight_), bias_ ? tape.parameter(*bias_) : Var<T>(),
                          Conv2dParams{options_.stride(), options_.padding()}, weight_cache_.get());
        });
    }
    std::string type_name() const override { return "Conv2d"; }
    /// "Conv2d(1, 8, kernel_size=3, stride=1, padding=1, bias=false)".
    void pretty_print(std::ostream& out) const override {
        out << "Conv2d(" << options_.in_channels() << ", " << options_.out_channels()
            << ", kernel_size=" << options_.kernel_size() << ", stride=" << options_.stride()
            << ", padding=" << options_.padding() << ", bias=" << (options_.bias() ? "true" : "false") << ')';
    }

    Parameter<T>& weight() { return *weight_; }
    /// The bias; null when built with bias(false).
    Parameter<T>* bias() { return bias_; }
    const Conv2dOptions& options() const { return options_; }
    /// The packed weight kept between inference forwards (what fused paths pass to conv2d_affine).
    ConvWeightCache<T>& weight_cache() { return *weight_cache_; }

private:
    Conv2dOptions options_;
    Parameter<T>* weight_ = nullptr;
    Parameter<T>* bias_ = nullptr;
    std::unique_ptr<ConvWeightCache<T>> weight_cache_;
};

}  // namespace strata::nn
