#pragma once
/// @file
/// Communicator: a trivially copyable handle to an MPI communicator, or to the "local" communicator of a
/// single process that was not launched by mpirun (every collective is then the identity and no MPI function
/// is called, so the same training code runs with and without MPI). Also MpiError and the mapping of element
/// types to MPI datatypes.
///
/// Part of strata's optional distributed component: it needs <mpi.h> and MPI::MPI_CXX (target
/// strata::distributed). The core library never includes it.

#include <mpi.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "strata/core/error.hpp"
#include "strata/core/shape.hpp"

namespace strata::distributed {

/// An MPI call that returned an error code (the message names the call and MPI's error string).
class MpiError : public Error {
public:
    using Error::Error;
};

namespace detail {

/// Throws MpiError naming `what` and MPI's description of `code` unless `code` is MPI_SUCCESS. (MPI's
/// default error handler aborts before returning an error; this matters only with MPI_ERRORS_RETURN.)
inline void check_mpi(int code, const char* what) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
    throw MpiError(strata::detail::concat(what, " failed with MPI error ", code, ": ", std::string(text, length)));
}

/// The MPI datatype of an element type (float, double, 32/64-bit integers).
template <class T>
MPI_Datatype mpi_datatype() {
    if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
    else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
    else if constexpr (std::is_same_v<T, std::int32_t>) return MPI_INT32_T;
    else if constexpr (std::is_same_v<T, std::int64_t>) return MPI_INT64_T;
    else if constexpr (std::is_same_v<T, std::uint64_t>) return MPI_UINT64_T;
    else static_assert(sizeof(T) == 0, "strata::distributed: no MPI datatype for this element type");
}

/// Whether MPI_Init has run and MPI_Finalize has not.
inline bool mpi_active() {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized != 0 && finalized == 0;
}

/// Converts an element count to MPI's int count; throws ArgumentError when it does not fit.
inline int mpi_count(index_t n, const char* what) {
    check<ArgumentError>(n >= 0 && n <= static_cast<index_t>(INT32_MAX), what, ": ", n,
                         " elements do not fit in one MPI call (at most 2^31 - 1)");
    return static_cast<int>(n);
}

}  // namespace detail

/// A handle to a group of ranks (an MPI communicator) or to the local single process.
///
/// Trivially copyable and destructible, so ops may capture it in backward lambdas. It does not own the MPI
/// communicator: MPI must stay initialised while it is used (MpiContext). Collectives must be called by every
/// rank of the group in the same order with the same counts (MPI's rule): ranks that disagree hang.
class Communicator {
public:
    /// The local communicator: one rank (0 of 1), collectives are the identity, no MPI calls.
    static Communicator local() { return Communicator(); }
    /// MPI_COMM_WORLD when MPI is initialised, otherwise local().
    static Communicator world() { return detail::mpi_active() ? Communicator(MPI_COMM_WORLD) : local(); }
    /// A handle to an existing MPI communicator (not owned).
    explicit Communicator(MPI_Comm comm) : comm_(comm), mpi_(true) {}

    /// Whether collectives go through MPI (false for local()).
    bool uses_mpi() const { return mpi_; }
    /// The MPI communicator; MPI_COMM_NULL for local().
    MPI_Comm comm() const { return mpi_ ? comm_ : MPI_COMM_NULL; }
    /// This process's rank in the group, in [0, size()).
    int rank() const {
        if (!mpi_) return 0;
        int r = 0;
        detail::check_mpi(MPI_Comm_rank(comm_, &r), "MPI_Comm_rank");
        return r;
    }
    /// The number of ranks in the group (1 for local()).
    int size() const {
        if (!mpi_) return 1;
        int s = 1;
        detail::check_mpi(MPI_Comm_size(comm_, &s), "MPI_Comm_size");
        return s;
    }
    /// Whether this is rank 0 of the group (the one that logs and writes checkpoints).
    bool is_root() const { return rank() == 0; }

    /// In place: data[i] = sum over ranks of data[i], for i in [0, n). Identity for local() or one rank.
    template <class T>
    void allreduce_sum(T* data, index_t n) const {
        allreduce(data, n, MPI_SUM, "allreduce_sum");
    }
    /// In place: data[i] = maximum over ranks of data[i].
    template <class T>
    void allreduce_max(T* data, index_t n) const {
        allreduce(data, n, MPI_MAX, "allreduce_max");
    }
    /// In place: data[i] = minimum over ranks of data[i].
    template <class T>
    void allreduce_min(T* data, index_t n) const {
        allreduce(data, n, MPI_MIN, "allreduce_min");
    }
    /// Copies rank `root`'s data[0..n) to every rank. Throws ArgumentError on a root outside [0, size()).
    template <class T>
    void broadcast(T* data, index_t n, int root = 0) const {
        check<ArgumentError>(root >= 0 && root < size(), "broadcast: root ", root, " outside [0, ", size(), ")");
        if (!mpi_ || n == 0) return;
        detail::check_mpi(MPI_Bcast(data, detail::mpi_count(n, "broadcast"), detail::mpi_datatype<T>(), root, comm_),
                          "MPI_Bcast");
    }
    /// Starts an in-place nonblocking sum; complete it with wait(). Returns MPI_REQUEST_NULL for local().
    template <class T>
    MPI_Request start_allreduce_sum(T* data, index_t n) const {
        MPI_Request request = MPI_REQUEST_NULL;
        if (!mpi_ || n == 0) return request;
        detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data, detail::mpi_count(n, "start_allreduce_sum"),
                                         detail::mpi_datatype<T>(), MPI_SUM, comm_, &request),
                          "MPI_Iallreduce");
        return request;
    }
    /// Waits for a request from start_allreduce_sum (no-op for MPI_REQUEST_NULL).
    static void wait(MPI_Request& request) {
        if (request == MPI_REQUEST_NULL) return;
        detail::check_mpi(MPI_Wait(&request, MPI_STATUS_IGNORE), "MPI_Wait");
    }
    /// Lets MPI progress a request from start_allreduce_sum without blocking; true once it has completed (then
    /// the request is MPI_REQUEST_NULL). No-op, true, for MPI_REQUEST_NULL.
    static bool test(MPI_Request& request) {
        if (request == MPI_REQUEST_NULL) return true;
        int done = 0;
        detail::check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
        return done != 0;
    }
    /// Blocks until every rank of the group has called barrier().
    void barrier() const {
        if (mpi_) detail::check_mpi(MPI_Barrier(comm_), "MPI_Barrier");
    }

private:
    Communicator() = default;

    template <class T>
    void allreduce(T* data, index_t n, MPI_Op op, const char* what) const {
        if (!mpi_ || n == 0) return;
        detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, detail::mpi_count(n, what), detail::mpi_datatype<T>(),
                                        op, comm_),
                          "MPI_Allreduce");
    }

    MPI_Comm comm_ = MPI_COMM_NULL;
    bool mpi_ = false;
};

static_assert(std::is_trivially_copyable_v<Communicator> && std::is_trivially_destructible_v<Communicator>,
              "Communicator must be capturable by backward lambdas");

}  // namespace strata::distributed
