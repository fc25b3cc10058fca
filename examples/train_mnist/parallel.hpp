#pragma once
/// @file
/// Data-parallel training in TrainingRun without a dependency on MPI: DataParallel is the interface of the few
/// collective operations the loop needs (its MPI implementation, MpiDataParallel, is in train/mpi_parallel.hpp
/// and needs the optional strata::distributed component), plus the helpers that split a global batch.
///
/// Scheme (as PyTorch's DistributedDataParallel): every rank holds a full replica of the model and builds the
/// same global batch of --batch-size samples from the same seeded DataLoader (so shuffling, augmentation and a
/// resumed loader state are those of a single-process run); rank r trains on the contiguous rows
/// local_rows(B, R, r) of it; the gradients are averaged over the ranks after backward and before clipping and
/// the optimizer step, so the replicas stay identical. With equal slices the mean of the local gradients is the
/// gradient of the global batch's mean loss; an uneven last batch is weighted (gradient_weight) so that this
/// still holds.

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include "strata/autograd/parameter.hpp"
#include "strata/core/error.hpp"
#include "strata/data/data_loader.hpp"
#include "strata/nn/module.hpp"

namespace strata::train {

/// The collective operations of data-parallel training. Every method except rank(), size() and the timing
/// accessors is collective: all ranks call it in the same order.
class DataParallel {
public:
    virtual ~DataParallel() = default;

    /// This process's rank, in [0, size()).
    virtual int rank() const = 0;
    /// The number of ranks.
    virtual int size() const = 0;
    /// Whether this rank logs and writes files (rank 0).
    bool is_root() const { return rank() == 0; }

    /// Called once by TrainingRun after the model is built: copies rank 0's parameter values and buffers to
    /// every rank and prepares the averaging of the gradients of `params`. Throws ArgumentError (on every rank)
    /// when the ranks' models differ.
    virtual void attach(nn::Module<float>& model, const std::vector<Parameter<float>*>& params) = 0;
    /// Replaces every gradient of the attached parameters by its mean over the ranks.
    virtual void average_gradients() = 0;
    /// In place: values[i] = the sum over the ranks of values[i], for i in [0, n).
    virtual void sum(double* values, index_t n) = 0;
    /// In place: values[i] = the maximum over the ranks of values[i].
    virtual void max(double* values, index_t n) = 0;
    /// Copies rank 0's values[0..n) to every rank.
    virtual void broadcast(float* values, index_t n) = 0;
    /// Returns when every rank has called it.
    virtual void barrier() = 0;

    /// Seconds spent in average_gradients() so far (this rank; includes waiting for slower ranks).
    virtual double averaging_seconds() const = 0;
    /// average_gradients() calls so far.
    virtual long averaging_calls() const = 0;
};

/// The rows [first, last) of a global batch of `n` samples that rank `rank` of `ranks` trains on: contiguous
/// slices whose sizes differ by at most one (floor(n r / R) to floor(n (r + 1) / R)). Throws ArgumentError
/// unless ranks >= 1, 0 <= rank < ranks and n >= 0.
inline std::pair<index_t, index_t> local_rows(index_t n, int ranks, int rank) {
    check<ArgumentError>(ranks >= 1 && rank >= 0 && rank < ranks && n >= 0, "local_rows: rank ", rank, " of ",
                         ranks, " ranks and ", n, " samples is not a valid split");
    return {n * rank / ranks, n * (rank + 1) / ranks};
}

/// The factor a rank multiplies its local gradient by before the ranks' gradients are averaged, so that the
/// average is the gradient of the mean loss over the whole global batch: R * local / global (1 when the
/// slices are equal). Throws ArgumentError unless 0 <= local <= global and global > 0.
inline double gradient_weight(index_t local, index_t global, int ranks) {
    check<ArgumentError>(global > 0 && local >= 0 && local <= global && ranks >= 1, "gradient_weight: ", local,
                         " of ", global, " samples on ", ranks, " ranks");
    return static_cast<double>(ranks) * static_cast<double>(local) / static_cast<double>(global);
}

/// Whether a loader over `samples` samples with global batch `batch` split across `ranks` must drop the last
/// batch of each epoch: when that batch would give some rank fewer than two samples (batch normalisation
/// cannot train on one). For one rank this is "the last batch has one sample".
inline bool drop_small_last_batch(index_t samples, index_t batch, int ranks) {
    const index_t rest = batch > 0 ? samples % batch : 0;
    return rest != 0 && rest < 2 * static_cast<index_t>(ranks);
}

/// Copies rows [first, last) of `in` (images, labels, indices; epoch and batch number too) into `out`, reusing
/// out's buffers. Throws ArgumentError unless 0 <= first <= last <= in.size().
inline void slice_batch(const data::Batch& in, index_t first, index_t last, data::Batch& out) {
    check<ArgumentError>(first >= 0 && first <= last && last <= in.size(), "slice_batch: rows [", first, ", ", last,
                         ") outside a batch of ", in.size());
    const Shape& s = in.images.shape();
    const Shape shape{last - first, s[1], s[2], s[3]};
    if (out.images.shape() != shape) out.images = Tensor<float>(shape);
    const index_t per = s[1] * s[2] * s[3];
    std::copy(in.images.data() + first * per, in.images.data() + last * per, out.images.data());
    out.labels.assign(in.labels.begin() + first, in.labels.begin() + last);
    out.indices.assign(in.indices.begin() + first, in.indices.begin() + last);
    out.epoch = in.epoch;
    out.index = in.index;
}

/// Whether an MPI launcher (mpirun, mpiexec, srun) started this process: Open MPI sets OMPI_COMM_WORLD_SIZE,
/// MPICH/Hydra and Slurm's PMI set PMI_SIZE, PMIx launchers PMIX_RANK. Needs no MPI library (the same test as
/// distributed::launched_by_mpi).
inline bool mpi_launch_detected() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
        if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return true;
    return false;
}

}  // namespace strata::train
