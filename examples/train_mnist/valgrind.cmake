# valgrind memcheck of a short training (issue 9): train_mnist for one epoch and one resumed epoch under memcheck
# (tests/train_mnist_valgrind.cmake), about a minute in a Release build. Included by
# examples/train_mnist/CMakeLists.txt with the tests. Not under STRATA_SANITIZE: memcheck and ASan do
# not run together.
find_program(STRATA_VALGRIND valgrind)
if(STRATA_BUILD_TESTS AND TARGET train_mnist AND STRATA_VALGRIND AND NOT STRATA_SANITIZE)
  add_test(NAME examples/train_mnist_valgrind
           COMMAND ${CMAKE_COMMAND} -DVALGRIND=${STRATA_VALGRIND} -DTRAINER=$<TARGET_FILE:train_mnist>
                   -DDATA=/usr/share/datasets/fashion-mnist -DSUPP=${CMAKE_CURRENT_SOURCE_DIR}/tests/valgrind.supp
                   -DWORK=${CMAKE_CURRENT_BINARY_DIR}/train_mnist_valgrind
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/tests/train_mnist_valgrind.cmake)
  # STRATA_ISA=generic: valgrind emulates each FMA instruction with a helper call, so the run-time AVX2 kernels
  # (valgrind hides AVX-512) made each memcheck run take 8 minutes instead of about one; the portable Eigen path
  # runs as before, and the AVX2/AVX-512 kernels are checked under ASan instead. OMP_WAIT_POLICY=passive:
  # memcheck serialises threads, so a spinning OpenMP worker only burns time slices. The timeout keeps a margin.
  set_tests_properties(examples/train_mnist_valgrind PROPERTIES LABELS "valgrind;slow" TIMEOUT 1800
                       ENVIRONMENT "STRATA_ISA=generic;OMP_WAIT_POLICY=passive")
elseif(STRATA_BUILD_TESTS AND NOT STRATA_VALGRIND AND NOT STRATA_SANITIZE)
  message(STATUS "strata: valgrind not found (Debian: valgrind), not registering examples/train_mnist_valgrind")
endif()
