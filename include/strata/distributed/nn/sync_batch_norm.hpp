#pragma once
/// @file
/// SyncBatchNorm<T>: BatchNorm2d whose training-mode statistics are shared by the ranks of a communicator
/// (torch.nn.SyncBatchNorm). Same parameters, buffers, names and options as BatchNorm2d, so checkpoints move
/// freely between the two.

#include <string>

#include "strata/distributed/communicator.hpp"
#include "strata/distributed/ops/sync_batch_norm.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/module.hpp"

namespace strata::distributed {

/// Batch normalisation synchronised over the ranks of a communicator.
///
/// Parameters "weight" and "bias" (when affine) and buffers "running_mean", "running_var",
/// "num_batches_tracked" (when tracking), initialised as BatchNorm2d's. In training mode every forward and
/// backward is a collective over `comm` (see sync_batch_norm); in evaluation mode it is BatchNorm2d's eval
/// forward with no communication. The running statistics are updated from the global batch statistics, so they
/// stay identical on all ranks (a plain BatchNorm2d keeps per-rank running statistics, as PyTorch's DDP does).
template <class T>
class SyncBatchNorm : public nn::Module<T> {
public:
    /// A synchronised batch norm over `comm` (MPI_COMM_WORLD when MPI is initialised, else local).
    /// @throws ArgumentError as BatchNorm2d (num_features <= 0, momentum outside [0, 1], eps <= 0).
    explicit SyncBatchNorm(const nn::BatchNormOptions& options, Communicator comm = Communicator::world())
        : options_(options), comm_(comm) {
        const index_t c = options.num_features();
        check<ArgumentError>(c > 0, "SyncBatchNorm: num_features must be positive, got ", c);
        check<ArgumentError>(options.momentum() >= 0 && options.momentum() <= 1 && options.eps() > 0,
                             "SyncBatchNorm: momentum must be in [0, 1] and eps > 0, got momentum ",
                             options.momentum(), ", eps ", options.eps());
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

    /// Normalises x ([N, C, H, W] or [N, C]); see the class comment. Collective in training mode.
    Var<T> forward(const Var<T>& x) override {
        Tape& tape = x.tape();
        const bool batch_stats = this->is_training() || running_mean_ == nullptr;
        if (this->is_training() && num_batches_tracked_) (*num_batches_tracked_)[0] += T(1);
        return sync_batch_norm(x, weight_ ? tape.parameter(*weight_) : Var<T>(),
                               bias_ ? tape.parameter(*bias_) : Var<T>(), running_mean_, running_var_, batch_stats,
                               options_.momentum(), options_.eps(), comm_);
    }
    /// "SyncBatchNorm".
    std::string type_name() const override { return "SyncBatchNorm"; }

    /// Gamma; null when not affine.
    Parameter<T>* weight() { return weight_; }
    /// Beta; null when not affine.
    Parameter<T>* bias() { return bias_; }
    /// The running mean [C]; null when not tracking running statistics.
    Tensor<T>* running_mean() { return running_mean_; }
    /// The running (unbiased) variance [C]; null when not tracking running statistics.
    Tensor<T>* running_var() { return running_var_; }
    /// The options it was built with.
    const nn::BatchNormOptions& options() const { return options_; }
    /// The ranks that share statistics.
    Communicator communicator() const { return comm_; }

private:
    nn::BatchNormOptions options_;
    Communicator comm_;
    Parameter<T>* weight_ = nullptr;
    Parameter<T>* bias_ = nullptr;
    Tensor<T>* running_mean_ = nullptr;
    Tensor<T>* running_var_ = nullptr;
    Tensor<T>* num_batches_tracked_ = nullptr;
};

}  // namespace strata::distributed
