# Checks that the real-data test executable skips visibly without the data: run with STRATA_DATA_DIR pointing
# nowhere, it must exit 77 (ctest's SKIP_RETURN_CODE) and say why.
#   cmake -DEXE=path/to/strata_real_data_tests -P expect_skip.cmake
set(ENV{STRATA_DATA_DIR} "/nonexistent/strata-no-data")
execute_process(COMMAND ${EXE} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 77 OR NOT out MATCHES "SKIPPED: Fashion-MNIST not found: .*/nonexistent/strata-no-data")
  message(FATAL_ERROR "expected exit 77 and a SKIPPED line naming the directory, got exit ${rc}: ${out}${err}")
endif()
