// Catch2 runner of the distributed tests: initialises MPI when launched by mpirun (otherwise the tests run with
// the local communicator), runs the selected tests on every rank, and exits non-zero on every rank when any
// rank had a failure. Tests tagged [np2] need exactly two ranks (ctest runs them under mpirun -np 2).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "strata/distributed/context.hpp"

int main(int argc, char** argv) {
    strata::distributed::MpiContext mpi(&argc, &argv);
    int failed = Catch::Session().run(argc, argv);
    mpi.world().allreduce_max(&failed, 1);
    return failed;
}
