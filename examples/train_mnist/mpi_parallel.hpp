#pragma once
/// @file
/// MpiDataParallel: train::DataParallel over strata's optional MPI component (broadcast_parameters,
/// GradientAverager, Communicator), and threads_per_rank(), the default thread count of a rank.
///
/// This header needs <mpi.h>: include it only in programs that link strata::distributed (CMake defines that
/// target, and STRATA_HAS_MPI for its users, only when it finds MPI). strata.hpp does not include it.

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "strata/distributed/broadcast.hpp"
#include "strata/distributed/communicator.hpp"
#include "strata/distributed/gradient_averager.hpp"
#include "parallel.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace strata::train {

/// DataParallel over an MPI communicator (or the local one: then one rank and no MPI calls).
class MpiDataParallel final : public DataParallel {
public:
    /// Data parallelism over `comm`, averaging gradients in buckets of at most `bucket_bytes`.
    explicit MpiDataParallel(distributed::Communicator comm,
                             std::size_t bucket_bytes = distributed::default_bucket_bytes)
        : comm_(comm), rank_(comm.rank()), size_(comm.size()), bucket_bytes_(bucket_bytes) {}

    /// See DataParallel.
    int rank() const override { return rank_; }
    /// See DataParallel.
    int size() const override { return size_; }

    /// Broadcasts rank 0's parameters and buffers and builds the GradientAverager for `params`. Throws
    /// ArgumentError (on every rank) when the ranks' models differ.
    void attach(nn::Module<float>& model, const std::vector<Parameter<float>*>& params) override {
        distributed::broadcast_parameters(model, comm_);
        averager_ = std::make_unique<distributed::GradientAverager<float>>(params, comm_, bucket_bytes_);
    }
    /// Bucketed allreduce of the gradients (GradientAverager::average). Throws ArgumentError before attach().
    void average_gradients() override {
        check<ArgumentError>(averager_ != nullptr, "MpiDataParallel: average_gradients() before attach()");
        averager_->average();
    }
    /// See DataParallel.
    void sum(double* values, index_t n) override { comm_.allreduce_sum(values, n); }
    /// See DataParallel.
    void max(double* values, index_t n) override { comm_.allreduce_max(values, n); }
    /// See DataParallel.
    void broadcast(float* values, index_t n) override { comm_.broadcast(values, n, 0); }
    /// See DataParallel.
    void barrier() override { comm_.barrier(); }
    /// See DataParallel.
    double averaging_seconds() const override { return averager_ ? averager_->seconds() : 0.0; }
    /// See DataParallel.
    long averaging_calls() const override { return averager_ ? averager_->calls() : 0; }

    /// The communicator.
    distributed::Communicator communicator() const { return comm_; }
    /// The gradient averager (null before attach()).
    const distributed::GradientAverager<float>* averager() const { return averager_.get(); }

private:
    distributed::Communicator comm_;
    int rank_;
    int size_;
    std::size_t bucket_bytes_;
    std::unique_ptr<distributed::GradientAverager<float>> averager_;
};

/// The number of ranks of `comm` on this machine (sharing memory with this one); 1 for the local communicator.
/// Collective. Throws MpiError when MPI fails.
inline int ranks_on_this_machine(const distributed::Communicator& comm) {
    if (!comm.uses_mpi()) return 1;
    MPI_Comm node = MPI_COMM_NULL;
    distributed::detail::check_mpi(MPI_Comm_split_type(comm.comm(), MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
                                   "MPI_Comm_split_type");
    int n = 1;
    MPI_Comm_size(node, &n);
    MPI_Comm_free(&node);
    return n;
}

/// The thread count a rank uses when none was asked for (--threads 0 and no OMP_NUM_THREADS): the cores it
/// may run on (OpenMP's default, which follows a CPU binding) but at most its share of the machine's cores
/// (hardware threads / `local_ranks`), and at least 1. So `mpirun -np 2` on 2 cores gives 1 thread per rank
/// instead of 2 ranks x 2 threads fighting over 2 cores.
inline int threads_per_rank(int local_ranks) {
    int available = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#ifdef _OPENMP
    available = std::min(available, omp_get_max_threads());
#endif
    const int share = static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) / std::max(1, local_ranks);
    return std::max(1, std::min(available, share));
}

}  // namespace strata::train
