#pragma once
/// @file
/// Residual blocks with a chosen shortcut: BasicBlock<T> (two 3x3 convs) and Bottleneck<T> (1x1-3x3-1x1,
/// expansion 4). Shortcut::none builds the plain twin, so residual and plain nets share one code path.

#include "strata/nn/activation.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/nn/sequential.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/conv2d_affine.hpp"
#include "strata/ops/subsample_pad.hpp"

namespace strata::nn {

/// What a block adds to its residual branch's output before the final ReLU.
enum class Shortcut {
    none,               ///< nothing: the plain twin of the residual block
    zero_pad,           ///< option A: identity, or stride-subsample + zero-padded channels where the shape changes
    projection,         ///< option B: identity, or 1x1 conv (+ BN) where the shape changes (torchvision's)
    always_projection,  ///< option C: 1x1 conv (+ BN) on every block
};

/// Normalisation after each conv.
enum class Norm {
    batch,  ///< BatchNorm2d after every conv; convs carry no bias
    none,   ///< no normalisation; convs carry a bias
};

/// Options shared by BasicBlock and Bottleneck.
struct BlockOptions {
    BlockOptions(index_t in_channels, index_t channels) : in_channels_(in_channels), channels_(channels) {}
    STRATA_ARG(index_t, in_channels);
    /// BasicBlock: output channels. Bottleneck: the 3x3 width (output is 4x this).
    STRATA_ARG(index_t, channels);
    STRATA_ARG(index_t, stride) = 1;
    STRATA_ARG(Shortcut, shortcut) = Shortcut::projection;
    STRATA_ARG(Norm, norm) = Norm::batch;
};

namespace detail {

/// Whether a module in evaluation mode may run its fused inference path on `tape`: the tape records no
/// gradients and no forward observer (nn::summary) wants to see every layer's output.
template <class T>
bool fused_inference(const Module<T>& m, const Tape& tape) {
    return !m.is_training() && !tape.grad_enabled() && forward_observer<T>() == nullptr;
}

/// act(bn(c(x)) + residual) (bn, residual and act optional) as one conv2d_affine when `bn` is null or in
/// evaluation mode with running statistics (its map and the conv's bias folded into the epilogue), else op by
/// op. Calls the modules' forward directly (no module path in errors, no observer).
template <class T>
Var<T> conv_norm_act(Conv2d<T>& c, BatchNorm2d<T>* bn, const Var<T>& x, const Var<T>& residual, bool act) {
    Tape& tape = x.tape();
    Var<T> scale, shift = c.bias() ? tape.parameter(*c.bias()) : Var<T>();
    if (bn == nullptr || (!c.bias() && bn->eval_affine(tape, scale, shift)))
        return conv2d_affine(x, tape.parameter(c.weight()), scale, shift,
                             Conv2dParams{c.options().stride(), c.options().padding()}, residual, act,
                             &c.weight_cache());
    Var<T> y = c(x);
    y = (*bn)(y);
    if (residual.defined()) y = add(y, residual);
    return act ? relu(y) : y;
}

}  // namespace detail

/// The machinery common to both blocks: out = relu(residual(x) + shortcut(x)).
template <class T>
class ResidualBlock : public Module<T> {
public:
    /// @throws ShapeError (through its convs, naming the module path) for an input whose channels differ from
    /// in_channels; what the ops throw otherwise.
    Var<T> forward(const Var<T>& x) override {
        if (fused_eval_applies(x.tape())) {
            try {
                return fused_forward(x, shortcut_eval(x));
            } catch (const ShapeError&) {
                // fall through: the layer-by-layer path below throws the same error naming the inner module
            }
        }
        Var<T> y = residual(x);
        switch (options_.shortcut()) {
            case Shortcut::none:
                break;
            case Shortcut::zero_pad:
                y = add(y, needs_reshape_ ? subsample_pad_channels(x, options_.stride(), out_channels_) : x);
                break;
            case Shortcut::projection:
            case Shortcut::always_projection:
                y = add(y, downsample_ ? (*downsample_)(x) : x);
                break;
        }
        return relu(y);
    }

    const BlockOptions& options() const { return options_; }
    index_t out_channels() const { return out_channels_; }
    /// The projection shortcut (conv + BN), or null.
    Sequential<T>* downsample() { return downsample_; }

    /// Zeroes the last BN's gamma (or, without normalisation, the last conv's weight; its bias keeps its init, as
    /// in the PyTorch reference of the gradient experiment) so that the block starts as its shortcut plus a small
    /// constant (torchvision's zero_init_residual, SkipInit).
    virtual void zero_init_residual() = 0;

protected:
    ResidualBlock(const BlockOptions& options, index_t out_channels) : options_(options), out_channels_(out_channels) {
        check<ArgumentError>(options.in_channels() > 0 && options.channels() > 0 && options.stride() > 0,
                             "residual block: channels and stride must be positive, got in ", options.in_channels(),
                             ", channels ", options.channels(), ", stride ", options.stride());
        needs_reshape_ = options.stride() != 1 || options.in_channels() != out_channels;
    }

    /// The residual branch (without the final ReLU).
    virtual Var<T> residual(const Var<T>& x) = 0;
    /// The whole block in evaluation mode without gradients: relu(residual(x) + shortcut), each conv with its
    /// batch-norm, the residual add and the ReLU applied in the conv's epilogue (conv_norm_fused).
    virtual Var<T> fused_forward(const Var<T>& x, const Var<T>& shortcut) = 0;

    /// Whether forward takes the fused inference path (detail::fused_inference).
    bool fused_eval_applies(const Tape& tape) const { return detail::fused_inference(*this, tape); }
    /// The shortcut's value for the fused path (undefined for Shortcut::none).
    Var<T> shortcut_eval(const Var<T>& x) {
        switch (options_.shortcut()) {
            case Shortcut::none:
                return Var<T>();
            case Shortcut::zero_pad:
                return needs_reshape_ ? subsample_pad_channels(x, options_.stride(), out_channels_) : x;
            case Shortcut::projection:
            case Shortcut::always_projection:
                break;
        }
        return downsample_ ? conv_norm_fused(*downsample_conv_, downsample_bn_, x, Var<T>(), false) : x;
    }
    Var<T> conv_norm_fused(Conv2d<T>& c, BatchNorm2d<T>* bn, const Var<T>& x, const Var<T>& residual, bool act) {
        return detail::conv_norm_act(c, bn, x, residual, act);
    }

    bool has_norm() const { return options_.norm() == Norm::batch; }

    /// A conv of this block (bias only without normalisation).
    std::unique_ptr<Conv2d<T>> conv(index_t in, index_t out, index_t k, index_t stride) const {
        return make<Conv2d<T>>(Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(!has_norm()));
    }
    /// conv -> (bn) in this block's normalisation.
    Var<T> conv_norm(Conv2d<T>& c, BatchNorm2d<T>* bn, const Var<T>& x) {
        Var<T> y = c(x);
        return bn ? (*bn)(y) : y;
    }
    BatchNorm2d<T>* norm_layer(const std::string& name, index_t channels) {
        return has_norm() ? &this->register_module(name, make<BatchNorm2d<T>>(BatchNormOptions(channels))) : nullptr;
    }
    /// Registers "downsample" (conv 1x1 + BN) when the shortcut option asks for a projection here. Call last, so
    /// that parameters are registered in torchvision's order.
    void build_shortcut() {
        const Shortcut s = options_.shortcut();
        const bool project = s == Shortcut::always_projection || (s == Shortcut::projection && needs_reshape_);
        if (!project) return;
        auto seq = make<Sequential<T>>();
        downsample_conv_ = &seq->push_back(conv(options_.in_channels(), out_channels_, 1, options_.stride()));
        if (has_norm()) downsample_bn_ = &seq->push_back(make<BatchNorm2d<T>>(BatchNormOptions(out_channels_)));
        downsample_ = &this->register_module("downsample", std::move(seq));
    }
    /// Zero-init of a branch's last layer.
    static void zero_last(Conv2d<T>& c, BatchNorm2d<T>* bn) {
        if (bn) {
            bn->weight()->value.fill(T(0));
        } else {
            c.weight().value.fill(T(0));
        }
    }

private:
    BlockOptions options_;
    index_t out_channels_;
    bool needs_reshape_ = false;
    Sequential<T>* downsample_ = nullptr;
    Conv2d<T>* downsample_conv_ = nullptr;
    BatchNorm2d<T>* downsample_bn_ = nullptr;
};

/// conv3x3(stride) - BN - ReLU - conv3x3 - BN, plus the shortcut, then ReLU (He et al. 2016, Fig. 2).
/// Children named as torchvision's: conv1, bn1, conv2, bn2, downsample.
template <class T>
class BasicBlock : public ResidualBlock<T> {
public:
    static constexpr index_t expansion = 1;

    /// @throws ArgumentError when in_channels, channels or stride is not positive, naming them.
    explicit BasicBlock(const BlockOptions& o) : ResidualBlock<T>(o, o.channels()) {
        conv1_ = &this->register_module("conv1", this->conv(o.in_channels(), o.channels(), 3, o.stride()));
        bn1_ = this->norm_layer("bn1", o.channels());
        conv2_ = &this->register_module("conv2", this->conv(o.channels(), o.channels(), 3, 1));
        bn2_ = this->norm_layer("bn2", o.channels());
        this->build_shortcut();
    }
    std::string type_name() const override { return "BasicBlock"; }
    void zero_init_residual() override { this->zero_last(*conv2_, bn2_); }

protected:
    Var<T> residual(const Var<T>& x) override {
        return this->conv_norm(*conv2_, bn2_, relu(this->conv_norm(*conv1_, bn1_, x)));
    }
    Var<T> fused_forward(const Var<T>& x, const Var<T>& shortcut) override {
        return this->conv_norm_fused(*conv2_, bn2_, this->conv_norm_fused(*conv1_, bn1_, x, Var<T>(), true), shortcut,
                                     true);
    }

private:
    Conv2d<T>* conv1_;
    BatchNorm2d<T>* bn1_;
    Conv2d<T>* conv2_;
    BatchNorm2d<T>* bn2_;
};

/// conv1x1 - BN - ReLU - conv3x3(stride) - BN - ReLU - conv1x1 (4x channels) - BN, plus the shortcut, then ReLU
/// (torchvision's ResNet v1.5, stride on the 3x3). Children: conv1, bn1, conv2, bn2, conv3, bn3, downsample.
template <class T>
class Bottleneck : public ResidualBlock<T> {
public:
    static constexpr index_t expansion = 4;

    /// @throws ArgumentError when in_channels, channels or stride is not positive, naming them.
    explicit Bottleneck(const BlockOptions& o) : ResidualBlock<T>(o, o.channels() * expansion) {
        conv1_ = &this->register_module("conv1", this->conv(o.in_channels(), o.channels(), 1, 1));
        bn1_ = this->norm_layer("bn1", o.channels());
        conv2_ = &this->register_module("conv2", this->conv(o.channels(), o.channels(), 3, o.stride()));
        bn2_ = this->norm_layer("bn2", o.channels());
        conv3_ = &this->register_module("conv3", this->conv(o.channels(), o.channels() * expansion, 1, 1));
        bn3_ = this->norm_layer("bn3", o.channels() * expansion);
        this->build_shortcut();
    }
    std::string type_name() const override { return "Bottleneck"; }
    void zero_init_residual() override { this->zero_last(*conv3_, bn3_); }

protected:
    Var<T> residual(const Var<T>& x) override {
        Var<T> y = relu(this->conv_norm(*conv1_, bn1_, x));
        y = relu(this->conv_norm(*conv2_, bn2_, y));
        return this->conv_norm(*conv3_, bn3_, y);
    }
    Var<T> fused_forward(const Var<T>& x, const Var<T>& shortcut) override {
        Var<T> y = this->conv_norm_fused(*conv1_, bn1_, x, Var<T>(), true);
        y = this->conv_norm_fused(*conv2_, bn2_, y, Var<T>(), true);
        return this->conv_norm_fused(*conv3_, bn3_, y, shortcut, true);
    }

private:
    Conv2d<T>* conv1_;
    BatchNorm2d<T>* bn1_;
    Conv2d<T>* conv2_;
    BatchNorm2d<T>* bn2_;
    Conv2d<T>* conv3_;
    BatchNorm2d<T>* bn3_;
};

}  // namespace strata::nn
