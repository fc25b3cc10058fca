#pragma once
/// @file
/// MpiContext (RAII MPI_Init / MPI_Finalize), launch detection, rank-0 helpers for logging and checkpoints,
/// and run_or_abort(): a rank that throws aborts the whole job with a clear message instead of leaving the
/// other ranks blocked in a collective forever.

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <type_traits>
#include <utility>

#include "strata/distributed/communicator.hpp"

namespace strata::distributed {

/// Whether this process was started by an MPI launcher (mpirun/mpiexec/srun): Open MPI sets
/// OMPI_COMM_WORLD_SIZE, MPICH/Hydra and Slurm's PMI set PMI_SIZE, PMIx launchers set PMIX_RANK.
inline bool launched_by_mpi() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
        if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return true;
    return false;
}

/// The rank of this process in MPI_COMM_WORLD (0 when MPI is not initialised).
inline int world_rank() { return Communicator::world().rank(); }
/// The number of processes in MPI_COMM_WORLD (1 when MPI is not initialised).
inline int world_size() { return Communicator::world().size(); }
/// True on the process that logs and writes checkpoints: rank 0 of MPI_COMM_WORLD, or the only process.
inline bool is_root() { return world_rank() == 0; }

/// printf on the root process only (other ranks print nothing); returns printf's result or 0.
template <class... Args>
int root_printf(const char* format, Args... args) {
    if (!is_root()) return 0;
    const int n = std::printf(format, args...);
    std::fflush(stdout);
    return n;
}

/// When MpiContext initialises MPI.
enum class MpiInit {
    /// Only when launched by an MPI launcher (launched_by_mpi()); otherwise run as one local process.
    if_launched,
    /// Always (a plain `./program` becomes an MPI singleton of size 1).
    always,
    /// Never: the local communicator, for single-process runs.
    never,
};

/// Initialises MPI for its lifetime (MPI_Init_thread with MPI_THREAD_FUNNELED: only the main thread makes
/// MPI calls; OpenMP and the DataLoader's thread never do) and finalises it at destruction. Create exactly one,
/// first thing in main(). If MPI was already initialised by someone else, it neither initialises nor finalises.
///
/// ```
/// int main(int argc, char** argv) {
///     distributed::MpiContext mpi(&argc, &argv);
///     return distributed::run_or_abort([&] { return train(mpi.world()); });
/// }
/// ```
class MpiContext {
public:
    /// Initialises MPI according to `when`. Throws MpiError when MPI_Init_thread fails or MPI was finalised.
    explicit MpiContext(int* argc = nullptr, char*** argv = nullptr, MpiInit when = MpiInit::if_launched) {
        int finalized = 0;
        MPI_Finalized(&finalized);
        check<MpiError>(finalized == 0, "MpiContext: MPI was already finalised; it cannot be initialised again");
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (initialized == 0 && (when == MpiInit::always || (when == MpiInit::if_launched && launched_by_mpi()))) {
            int provided = 0;
            detail::check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
            owns_ = true;
        }
        world_ = Communicator::world();
    }
    MpiContext(const MpiContext&) = delete;
    MpiContext& operator=(const MpiContext&) = delete;

    /// Finalises MPI if this context initialised it.
    ~MpiContext() {
        if (owns_ && detail::mpi_active()) MPI_Finalize();
    }

    /// Whether MPI is in use (false in a local single-process run).
    bool uses_mpi() const { return world_.uses_mpi(); }
    /// MPI_COMM_WORLD, or the local communicator.
    Communicator world() const { return world_; }
    /// This process's rank in world().
    int rank() const { return world_.rank(); }
    /// The number of processes in world().
    int size() const { return world_.size(); }
    /// Whether this is rank 0 (logs and writes checkpoints).
    bool is_root() const { return world_.is_root(); }

private:
    Communicator world_ = Communicator::local();
    bool owns_ = false;
};

namespace detail {

/// Prints "strata: rank R of N failed: <what>" to stderr, then aborts the MPI job (or the process).
[[noreturn]] inline void abort_job(const char* what, int code) {
    const bool mpi = mpi_active();
    int rank = 0, size = 1;
    if (mpi) {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
    }
    std::fprintf(stderr, "strata: rank %d of %d failed: %s\n", rank, size, what);
    if (mpi) std::fprintf(stderr, "strata: rank %d calls MPI_Abort(MPI_COMM_WORLD, %d) to stop the other ranks\n",
                          rank, code);
    std::fflush(stderr);
    if (mpi) MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
}

}  // namespace detail

/// Runs `fn()` and returns its result (an int exit code, or 0 for a void fn). If it throws, prints which rank
/// failed and why to stderr and calls MPI_Abort(MPI_COMM_WORLD, `abort_code`), which stops every rank of the
/// job (the others may be blocked in a collective waiting for this one). Without MPI it prints the same
/// message and exits with `abort_code`. Never returns after an exception.
template <class F>
int run_or_abort(F&& fn, int abort_code = 1) {
    try {
        if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
            std::forward<F>(fn)();
            return 0;
        } else {
            return static_cast<int>(std::forward<F>(fn)());
        }
    } catch (const std::exception& e) {
        detail::abort_job(e.what(), abort_code);
    } catch (...) {
        detail::abort_job("an exception not derived from std::exception", abort_code);
    }
}

}  // namespace strata::distributed
