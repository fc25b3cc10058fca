// The program of the ctest test distributed/abort (run by run_abort_test.cmake under mpirun -np 2): rank 1
// throws while rank 0 waits in a barrier that rank 1 never reaches. run_or_abort on rank 1 must print the
// failure and call MPI_Abort, so that the job ends promptly with a non-zero exit instead of hanging.
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "strata/distributed/context.hpp"

int main(int argc, char** argv) {
    strata::distributed::MpiContext mpi(&argc, &argv);
    return strata::distributed::run_or_abort([&] {
        if (mpi.size() < 2) {
            std::fprintf(stderr, "abort test: needs at least 2 ranks, got %d\n", mpi.size());
            return 3;
        }
        if (mpi.rank() == 1) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let rank 0 block first
            throw std::runtime_error("deliberate failure on rank 1 (abort test)");
        }
        mpi.world().barrier();  // never completes: rank 1 does not get here
        std::fprintf(stderr, "abort test: rank %d passed a barrier that rank 1 never entered\n", mpi.rank());
        return 4;
    });
}
