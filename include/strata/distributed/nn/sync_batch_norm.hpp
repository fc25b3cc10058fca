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
class SyncBatchNorm : public nn::BatchNorm2d<T> {
public:
    /// A synchronised batch norm over `comm` (MPI_COMM_WORLD when MPI is initialised, else local).
    /// @throws ArgumentError as BatchNorm2d (num_features <= 0, momentum outside [0, 1], eps <= 0).
    explicit SyncBatchNorm(const nn::BatchNormOptions& options, Communicator comm = Communicator::world())
        : nn::BatchNorm2d<T>(options, "SyncBatchNorm"), comm_(comm) {}

    /// "SyncBatchNorm".
    std::string type_name() const override { return "SyncBatchNorm"; }
    /// The ranks that share statistics.
    Communicator communicator() const { return comm_; }

protected:
    /// sync_batch_norm(): a collective over the communicator when batch_stats (training mode).
    Var<T> normalize(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, bool batch_stats) override {
        return sync_batch_norm(x, weight, bias, this->running_mean(), this->running_var(), batch_stats,
                               this->options().momentum(), this->options().eps(), comm_);
    }

private:
    Communicator comm_;
};

}  // namespace strata::distributed
