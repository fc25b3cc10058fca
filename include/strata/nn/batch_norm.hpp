#pragma once
/// @file
/// BatchNorm2d<T>: batch normalisation over the channels of [N, C, H, W] (or [N, C]), like torch.nn.BatchNorm2d.

#include <utility>

#include "strata/nn/module.hpp"
#include "strata/core/options.hpp"
#include "strata/ops/batch_norm.hpp"

namespace strata::nn {

/// Options of BatchNorm2d (PyTorch's defaults).
struct BatchNormOptions {
    explicit BatchNormOptions(index_t num_features) : num_features_(num_features) {}
    STRATA_ARG(index_t, num_features);
    STRATA_ARG(double, eps) = 1e-5;
    STRATA_ARG(double, momentum) = 0.1;
    STRATA_ARG(bool, affine) = true;
    STRATA_ARG(bool, track_running_stats) = true;
};

/// Batch normalisation. Parameters "weight" (gamma, 1) and "bias" (beta, 0) when affine; buffers
/// "running_mean" (0), "running_var" (1) and "num_batches_tracked" when tracking running statistics.
/// Training mode normalises with batch statistics and updates the running ones; eval mode uses the running ones.
template <class T>
class BatchNorm2d : public Module<T> {
public:
    /// @throws ArgumentError when num_features <= 0, momentum is outside [0, 1] or eps <= 0, naming the values.
    explicit BatchNorm2d(const BatchNormOptions& options) : BatchNorm2d(options, "BatchNorm2d") {}

    /// @throws what batch_norm() throws: ShapeError for an input that is not [N, C] or [N, C, H, W] with
    /// C == num_features, or a training batch with a single value per channel.
    Var<T> forward(const Var<T>& x) override {
        return this->forward_scope([&] {
            Tape& tape = x.tape();
            // Batch statistics in training, and in eval when no running statistics are tracked (as PyTorch).
            const bool batch_stats = this->is_training() || running_mean_ == nullptr;
            if (this->is_training() && num_batches_tracked_) (*num_batches_tracked_)[0] += T(1);
            return normalize(x, weight_ ? tape.parameter(*weight_) : Var<T>(),
                             bias_ ? tape.parameter(*bias_) : Var<T>(), batch_stats);
        });
    }
    std::string type_name() const override { return "BatchNorm2d"; }
    /// "BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)".
    void pretty_print(std::ostream& out) const override {
        out << this->type_name() << '(' << options_.num_features() << ", eps=" << options_.eps()
            << ", momentum=" << options_.momentum() << ", affine=" << (options_.affine() ? "true" : "false")
            << ", track_running_stats=" << (options_.track_running_stats() ? "true" : "false") << ')';
    }

    /// Gamma; null when not affine.
    Parameter<T>* weight() { return weight_; }
    /// Beta; null when not affine.
    Parameter<T>* bias() { return bias_; }
    /// The running mean [C]; null when not tracking running statistics.
    Tensor<T>* running_mean() { return running_mean_; }
    /// The running (unbiased) variance [C]; null when not tracking running statistics.
    Tensor<T>* running_var() { return running_var_; }
    /// The options it was built with.
    const BatchNormOptions& options() const { return options_; }

    /// The per-channel map y = x * scale + shift this layer applies in evaluation mode, written as two [C]
    /// constants on `tape` (scale = gamma / sqrt(running_var + eps), shift = beta - running_mean * scale, in
    /// double, rounded to T). Computed from the current parameters and buffers at every call, so it never goes
    /// stale after load_state() or an optimizer step. Returns false and leaves `scale` and `shift` alone when the
    /// layer normalises with batch statistics (training mode, or no running statistics). Lets a convolution
    /// apply the batch-norm in its epilogue (conv2d_affine).
    bool eval_affine(Tape& tape, Var<T>& scale, Var<T>& shift) const {
        if (this->is_training() || running_mean_ == nullptr || running_var_ == nullptr) return false;
        const index_t c = options_.num_features();
        scale = tape.make_output<T>(Shape{c}, false);
        shift = tape.make_output<T>(Shape{c}, false);
        T* sc = scale.mutable_value().data();
        T* sh = shift.mutable_value().data();
        // Const reads only: a read through a mutable accessor would count as a change (Tensor::version) and
        // write the tensor while other threads serve from it.
        const T* gamma = weight_ ? std::as_const(weight_->value).data() : nullptr;
        const T* beta = bias_ ? std::as_const(bias_->value).data() : nullptr;
        const T* mean = std::as_const(*running_mean_).data();
        const T* var = std::as_const(*running_var_).data();
        for (index_t i = 0; i < c; ++i) {
            const double s = (gamma ? static_cast<double>(gamma[i]) : 1.0) /
                             std::sqrt(static_cast<double>(var[i]) + options_.eps());
            sc[i] = static_cast<T>(s);
            sh[i] = static_cast<T>((beta ? static_cast<double>(beta[i]) : 0.0) - static_cast<double>(mean[i]) * s);
        }
        return true;
    }

protected:
    /// For variants with the same parameters, buffers and bookkeeping and another normalize()
    /// (distributed::SyncBatchNorm); `name` starts the error messages.
    BatchNorm2d(const BatchNormOptions& options, const char* name) : options_(options) {
        const index_t c = options.num_features();
        check<ArgumentError>(c > 0, name, ": num_features must be positive, got ", c);
        check<ArgumentError>(options.momentum() >= 0 && options.momentum() <= 1 && options.eps() > 0, name,
                             ": momentum must be in [0, 1] and eps > 0, got momentum ", options.momentum(), ", eps ",
                             options.eps());
        if (options.affine()) {
            weight_ = &this->register_parameter("weight", Tensor<T>(Shape{c}, T(1)));
            bias_ = &this->register_parameter("bias", Tensor<T>(Shape{c}, T(0)));
        }
        if (options.track_running_stats()) {
            running_mean_ = &this->register_buffer("running_mean", Tensor<T>(Shape{c}, T(0)));
            running_var_ = &this->register_buffer("running_var", Tensor<T>(Shape{c}, T(1)));
            num_batches_tracked_ = &this->register_buffer("num_batches_tracked", Tensor<T>(Shape{}, T(0)));
        }
    }

    /// The normalisation of one forward (weight and bias empty when not affine; batch_stats: normalise with the
    /// batch's statistics and update the running ones, else use the running ones): batch_norm() here.
    virtual Var<T> normalize(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, bool batch_stats) {
        return batch_norm(x, weight, bias, running_mean_, running_var_, batch_stats, options_.momentum(),
                          options_.eps());
    }

private:
    BatchNormOptions options_;
    Parameter<T>* weight_ = nullptr;
    Parameter<T>* bias_ = nullptr;
    Tensor<T>* running_mean_ = nullptr;
    Tensor<T>* running_var_ = nullptr;
    Tensor<T>* num_batches_tracked_ = nullptr;
};

}  // namespace strata::nn
