# Steps of strata's consumer tests, run as `cmake -DSTEP=<step> -D... -P run_consumer.cmake` by the ctest tests
# that tests/consumer/consumer_tests.cmake adds. Steps:
#   install           fresh `cmake --install STRATA_BINARY_DIR --prefix PREFIX`, then checks the installed files
#   package           configure + build + run the consumer with find_package(strata 0.1) against PREFIX
#   version-mismatch  configure the consumer asking for strata ${BAD_VERSION}: must fail with a version message
#   subdirectory      configure + build + run the consumer with add_subdirectory(STRATA_SOURCE_DIR), and check
#                     that strata did not configure its own tests, examples or benchmarks in there
# Common variables: CONSUMER_SOURCE_DIR, WORK_DIR (the consumer's build dir, wiped first), GENERATOR,
# CXX_COMPILER, BUILD_TYPE (may be empty), MAKE_PROGRAM (may be empty).
cmake_minimum_required(VERSION 3.16)

function(fail)
  string(JOIN "" _msg ${ARGN})
  message(FATAL_ERROR "consumer/${STEP}: ${_msg}")
endfunction()

function(run)  # run(<what> <command...>): runs it, echoes its output, fails the step when it fails
  list(POP_FRONT ARGN _what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
  message("${_out}")
  if(NOT _rc EQUAL 0)
    string(JOIN " " _cmd ${ARGN})
    fail("${_what} failed (exit ${_rc}): ${_cmd}")
  endif()
endfunction()

# Configure args shared by every consumer build.
function(consumer_configure_args out_var)
  set(_args -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}" -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
  if(MAKE_PROGRAM)
    list(APPEND _args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
  endif()
  if(BUILD_TYPE)
    list(APPEND _args "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
  endif()
  set(${out_var} ${_args} ${ARGN} PARENT_SCOPE)
endfunction()

function(build_and_run_consumer)
  set(_build "${CMAKE_COMMAND}" --build "${WORK_DIR}")
  if(BUILD_TYPE)
    list(APPEND _build --config "${BUILD_TYPE}")
  endif()
  run("building the consumer" ${_build})
  set(_exe "${WORK_DIR}/strata_consumer")
  if(NOT EXISTS "${_exe}")
    set(_exe "${WORK_DIR}/${BUILD_TYPE}/strata_consumer")  # multi-config generators
  endif()
  if(NOT EXISTS "${_exe}")
    fail("the consumer program was not built in ${WORK_DIR}")
  endif()
  execute_process(COMMAND "${_exe}" RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
  message("${_out}")
  if(NOT _rc EQUAL 0)
    fail("the consumer program failed (exit ${_rc})")
  endif()
  if(NOT _out MATCHES "strata [0-9]+\\.[0-9]+\\.[0-9]+ \\(consumer\\)")
    fail("the consumer program did not print strata's version")
  endif()
endfunction()

foreach(_v STEP)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "run_consumer.cmake: -D${_v}=... is required")
  endif()
endforeach()

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE "${PREFIX}")  # no stale headers from earlier installs
  set(_install "${CMAKE_COMMAND}" --install "${STRATA_BINARY_DIR}" --prefix "${PREFIX}")
  if(BUILD_TYPE)
    list(APPEND _install --config "${BUILD_TYPE}")
  endif()
  run("cmake --install" ${_install})
  foreach(_f include/strata/version.hpp include/strata/autograd/tape.hpp include/strata/ops/add.hpp
             share/cmake/strata/strataConfig.cmake share/cmake/strata/strataConfigVersion.cmake
             share/cmake/strata/strataTargets.cmake)
    if(NOT EXISTS "${PREFIX}/${_f}")
      fail("${_f} is missing from the install prefix ${PREFIX}")
    endif()
  endforeach()

elseif(STEP STREQUAL "package")
  file(REMOVE_RECURSE "${WORK_DIR}")
  consumer_configure_args(_args -DSTRATA_CONSUMER_MODE=package "-DCMAKE_PREFIX_PATH=${PREFIX}"
                          -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
  run("configuring the consumer (package mode)" "${CMAKE_COMMAND}" ${_args})
  # It must have found the strata just installed, not one elsewhere on the system.
  file(STRINGS "${WORK_DIR}/CMakeCache.txt" _dir REGEX "^strata_DIR:")
  get_filename_component(_prefix_real "${PREFIX}" REALPATH)
  string(FIND "${_dir}" "strata_DIR:PATH=${PREFIX}/" _at)
  string(FIND "${_dir}" "strata_DIR:PATH=${_prefix_real}/" _at_real)
  if(NOT _at EQUAL 0 AND NOT _at_real EQUAL 0)
    fail("find_package(strata) did not pick the test prefix ${PREFIX}: ${_dir}")
  endif()
  build_and_run_consumer()

elseif(STEP STREQUAL "version-mismatch")
  file(REMOVE_RECURSE "${WORK_DIR}")
  consumer_configure_args(_args -DSTRATA_CONSUMER_MODE=package "-DCMAKE_PREFIX_PATH=${PREFIX}"
                          "-DSTRATA_CONSUMER_REQUIRED_VERSION=${BAD_VERSION}"
                          -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
  execute_process(COMMAND "${CMAKE_COMMAND}" ${_args} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
  message("${_out}")
  if(_rc EQUAL 0)
    fail("find_package(strata ${BAD_VERSION}) succeeded, but the installed strata is not compatible with it")
  endif()
  if(NOT _out MATCHES "strataConfig\\.cmake, version: [0-9.]+" OR NOT _out MATCHES "not compatible|version")
    fail("configuring failed, but not with find_package's version message")
  endif()

elseif(STEP STREQUAL "subdirectory")
  file(REMOVE_RECURSE "${WORK_DIR}")
  consumer_configure_args(_args -DSTRATA_CONSUMER_MODE=subdirectory "-DSTRATA_SOURCE_DIR=${STRATA_SOURCE_DIR}")
  run("configuring the consumer (subdirectory mode)" "${CMAKE_COMMAND}" ${_args})
  # Not the top-level project: strata's tests, examples, benchmarks and install rules default OFF.
  file(STRINGS "${WORK_DIR}/CMakeCache.txt" _cache REGEX "^STRATA_(BUILD_[A-Z]+|INSTALL):")
  foreach(_opt STRATA_BUILD_TESTS STRATA_BUILD_EXAMPLES STRATA_BUILD_BENCHMARKS STRATA_INSTALL)
    if(NOT "${_cache}" MATCHES "${_opt}:BOOL=OFF")
      fail("${_opt} is not OFF when strata is a subdirectory (cache: ${_cache})")
    endif()
  endforeach()
  foreach(_d tests examples benchmarks)
    if(EXISTS "${WORK_DIR}/strata-build/${_d}")
      fail("strata configured its ${_d} inside the consumer's build (${WORK_DIR}/strata-build/${_d})")
    endif()
  endforeach()
  build_and_run_consumer()

else()
  message(FATAL_ERROR "run_consumer.cmake: unknown STEP '${STEP}'")
endif()
