# strata's optional distributed (MPI data-parallel) component. Include it from the top CMakeLists.txt after the
# `strata` target exists:   include(cmake/StrataDistributed.cmake)
#
# If MPI is found (its C API, used from C++; the deprecated MPI C++ bindings are skipped) it defines
#   strata_distributed / strata::distributed   INTERFACE target: strata + MPI::MPI_CXX
# and, when STRATA_BUILD_TESTS is on, the ctest tests distributed/* (some under mpirun -np 2); when
# STRATA_BUILD_BENCHMARKS is on, the distributed_scaling program. Without MPI it only prints a status line:
# the core library never needs MPI. STRATA_WITH_MPI tells the rest of the build which case applies.

option(STRATA_USE_MPI "Build the distributed (MPI) component when MPI is found" ON)
set(STRATA_WITH_MPI OFF)
if(NOT STRATA_USE_MPI)
  message(STATUS "strata: STRATA_USE_MPI is off, strata::distributed is not built")
  return()
endif()

if(NOT DEFINED MPI_CXX_SKIP_MPICXX)
  set(MPI_CXX_SKIP_MPICXX ON)  # the C API only: no libmpi_cxx, OMPI_SKIP_MPICXX/MPICH_SKIP_MPICXX defined
endif()
find_package(MPI QUIET COMPONENTS CXX)
if(NOT MPI_CXX_FOUND)
  message(STATUS "strata: MPI not found, strata::distributed is not built (scripts/install-deps.sh mpi)")
  return()
endif()
set(STRATA_WITH_MPI ON)
message(STATUS "strata: MPI ${MPI_CXX_VERSION} found (${MPIEXEC_EXECUTABLE}), building strata::distributed")

get_filename_component(_strata_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
add_library(strata_distributed INTERFACE)
add_library(strata::distributed ALIAS strata_distributed)
target_link_libraries(strata_distributed INTERFACE strata MPI::MPI_CXX)
# Lets a program that links strata::distributed only when it exists write `#if STRATA_HAS_MPI`.
target_compile_definitions(strata_distributed INTERFACE STRATA_HAS_MPI=1)

set(_strata_dist_dev_flags)
if(TARGET strata_dev_flags OR STRATA_IS_TOP_LEVEL)  # top level defines it (maybe after this file)
  set(_strata_dist_dev_flags strata_dev_flags)
endif()

# mpirun command line for the tests and benchmarks: Open MPI needs --oversubscribe (more ranks than free cores,
# other jobs share the machine), --allow-run-as-root (CI runs as root) and no core binding.
set(STRATA_MPIEXEC "${MPIEXEC_EXECUTABLE}" CACHE FILEPATH "MPI launcher used by strata's distributed tests")
set(STRATA_MPIEXEC_FLAGS ${MPIEXEC_PREFLAGS})
set(STRATA_MPI_TEST_ENV "OMP_NUM_THREADS=1")
execute_process(COMMAND "${STRATA_MPIEXEC}" --version OUTPUT_VARIABLE _strata_mpiexec_version ERROR_QUIET
                TIMEOUT 20)
if(MPI_CXX_LIBRARY_VERSION_STRING MATCHES "Open MPI" OR _strata_mpiexec_version MATCHES "Open MPI|OpenRTE")
  list(APPEND STRATA_MPIEXEC_FLAGS --oversubscribe --allow-run-as-root --bind-to none)
  # Loopback shared memory only; no single-copy (CMA needs ptrace rights that containers often lack).
  list(APPEND STRATA_MPI_TEST_ENV "OMPI_MCA_btl=self,vader" "OMPI_MCA_btl_vader_single_copy_mechanism=none"
       "OMPI_MCA_rmaps_base_oversubscribe=1")
endif()
if(STRATA_SANITIZE)
  list(APPEND STRATA_MPI_TEST_ENV "ASAN_OPTIONS=detect_leaks=0")  # MPI_Init's allocations are never freed
endif()

if(STRATA_BUILD_TESTS)
  enable_testing()
  find_package(Catch2 2 REQUIRED)
  set(_dist_tests "${_strata_root}/tests/distributed")
  # The test files end in _mpitest.cpp so that the core unit-test glob (*/*_test.cpp) never picks them up.
  file(GLOB _dist_sources CONFIGURE_DEPENDS "${_dist_tests}/*_mpitest.cpp")
  add_executable(strata_distributed_tests "${_dist_tests}/main.cpp" ${_dist_sources})
  target_link_libraries(strata_distributed_tests PRIVATE strata::distributed Catch2::Catch2 ${_strata_dist_dev_flags})
  target_include_directories(strata_distributed_tests PRIVATE "${_strata_root}/tests")
  target_compile_definitions(strata_distributed_tests PRIVATE STRATA_FIXTURE_DIR="${_dist_tests}/../fixtures")
  if(COMMAND strata_unity_tests)  # strata's own build (top-level CMakeLists.txt)
    strata_unity_tests(strata_distributed_tests "${_dist_tests}/main.cpp")
  endif()

  add_executable(strata_distributed_abort "${_dist_tests}/abort_main.cpp")
  target_link_libraries(strata_distributed_abort PRIVATE strata::distributed ${_strata_dist_dev_flags})

  set(_np "${MPIEXEC_NUMPROC_FLAG}")
  string(REPLACE ";" "|" _flags_bar "${STRATA_MPIEXEC_FLAGS}")
  # One process without mpirun: the local communicator (no MPI calls at all).
  add_test(NAME distributed/local COMMAND strata_distributed_tests "~[np2]")
  # The same tests as a real 1-rank MPI job.
  add_test(NAME distributed/np1
           COMMAND ${STRATA_MPIEXEC} ${_np} 1 ${STRATA_MPIEXEC_FLAGS} $<TARGET_FILE:strata_distributed_tests>
                   ${MPIEXEC_POSTFLAGS} "~[np2]")
  # Two ranks: broadcast, averaging, and 2 ranks x batch 32 == 1 process x batch 64.
  add_test(NAME distributed/np2
           COMMAND ${STRATA_MPIEXEC} ${_np} 2 ${STRATA_MPIEXEC_FLAGS} $<TARGET_FILE:strata_distributed_tests>
                   ${MPIEXEC_POSTFLAGS} "[np2]")
  # A rank that throws stops the whole job promptly, non-zero, with its message.
  add_test(NAME distributed/abort
           COMMAND ${CMAKE_COMMAND} "-DMPIEXEC=${STRATA_MPIEXEC}" "-DNP_FLAG=${_np}"
                   "-DFLAGS=${_flags_bar}" "-DPROGRAM=$<TARGET_FILE:strata_distributed_abort>"
                   -DTIMEOUT=60 -P "${_dist_tests}/run_abort_test.cmake")
  set_tests_properties(distributed/local distributed/np1 distributed/np2 distributed/abort PROPERTIES
                       LABELS distributed TIMEOUT 180 ENVIRONMENT "${STRATA_MPI_TEST_ENV}")
  set_tests_properties(distributed/np1 distributed/np2 distributed/abort PROPERTIES RUN_SERIAL ON)
endif()

if(STRATA_BUILD_BENCHMARKS)
  add_executable(distributed_scaling "${_strata_root}/benchmarks/distributed_scaling.cpp")
  target_link_libraries(distributed_scaling PRIVATE strata::distributed ${_strata_dist_dev_flags})
  if(STRATA_BUILD_TESTS)
    # One step only: proves the program runs; the measurement itself is run by hand (docs/distributed.md).
    add_test(NAME distributed/scaling-smoke
             COMMAND ${STRATA_MPIEXEC} ${_np} 2 ${STRATA_MPIEXEC_FLAGS} $<TARGET_FILE:distributed_scaling>
                     ${MPIEXEC_POSTFLAGS} --steps 1 --warmup 0)
    set_tests_properties(distributed/scaling-smoke PROPERTIES LABELS "distributed;slow" TIMEOUT 300
                         RUN_SERIAL ON ENVIRONMENT "${STRATA_MPI_TEST_ENV}")
  endif()
endif()
