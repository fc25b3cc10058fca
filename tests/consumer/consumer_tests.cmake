# Consumer tests, included by tests/CMakeLists.txt: strata used from outside, as an installed CMake package and
# as an add_subdirectory() dependency. Each builds and runs tests/consumer (a tiny standalone project) in a
# fresh build dir under ${CMAKE_BINARY_DIR}/consumer-*, with the compiler and build type of this build.
#   consumer/install           installs this build tree into ${CMAKE_BINARY_DIR}/consumer-prefix (fixture)
#   consumer/package           find_package(strata 0.1 CONFIG REQUIRED) against that prefix, build, run
#   consumer/version-mismatch  find_package(strata 0.2 ...) against that prefix must fail to configure
#   consumer/subdirectory      add_subdirectory(<strata source>), build, run; strata's own tests etc. stay off
set(_consumer_dir "${CMAKE_CURRENT_LIST_DIR}")
set(_consumer_prefix "${CMAKE_BINARY_DIR}/consumer-prefix")
set(_consumer_common
  "-DCONSUMER_SOURCE_DIR=${_consumer_dir}"
  "-DGENERATOR=${CMAKE_GENERATOR}"
  "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
  "-DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}"
  "-DBUILD_TYPE=$<CONFIG>")

if(STRATA_INSTALL)
  add_test(NAME consumer/install
           COMMAND ${CMAKE_COMMAND} -DSTEP=install ${_consumer_common}
                   "-DSTRATA_BINARY_DIR=${PROJECT_BINARY_DIR}" "-DPREFIX=${_consumer_prefix}"
                   -P ${_consumer_dir}/run_consumer.cmake)
  set_tests_properties(consumer/install PROPERTIES FIXTURES_SETUP strata_consumer_prefix)

  add_test(NAME consumer/package
           COMMAND ${CMAKE_COMMAND} -DSTEP=package ${_consumer_common}
                   "-DPREFIX=${_consumer_prefix}" "-DWORK_DIR=${CMAKE_BINARY_DIR}/consumer-package"
                   -P ${_consumer_dir}/run_consumer.cmake)
  add_test(NAME consumer/version-mismatch
           COMMAND ${CMAKE_COMMAND} -DSTEP=version-mismatch ${_consumer_common} -DBAD_VERSION=0.2
                   "-DPREFIX=${_consumer_prefix}" "-DWORK_DIR=${CMAKE_BINARY_DIR}/consumer-version-mismatch"
                   -P ${_consumer_dir}/run_consumer.cmake)
  set_tests_properties(consumer/package consumer/version-mismatch PROPERTIES
                       FIXTURES_REQUIRED strata_consumer_prefix LABELS consumer TIMEOUT 600)
  set_tests_properties(consumer/install PROPERTIES LABELS consumer TIMEOUT 120)
endif()

add_test(NAME consumer/subdirectory
         COMMAND ${CMAKE_COMMAND} -DSTEP=subdirectory ${_consumer_common}
                 "-DSTRATA_SOURCE_DIR=${PROJECT_SOURCE_DIR}" "-DWORK_DIR=${CMAKE_BINARY_DIR}/consumer-subdirectory"
                 -P ${_consumer_dir}/run_consumer.cmake)
set_tests_properties(consumer/subdirectory PROPERTIES LABELS consumer TIMEOUT 600)
