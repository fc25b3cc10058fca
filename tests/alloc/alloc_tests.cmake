# tests/alloc: a separate executable that replaces malloc & co. with counting wrappers (glibc's __libc_*) to
# prove that a steady-state training step makes no heap allocation. Not under the sanitizers, which replace
# the allocator themselves; glibc only.
include(CheckSymbolExists)
check_symbol_exists(__GLIBC__ "features.h" STRATA_HAVE_GLIBC)
if(STRATA_HAVE_GLIBC AND NOT STRATA_SANITIZE)
  add_executable(strata_alloc_tests ${CMAKE_CURRENT_LIST_DIR}/steady_state_alloc.cpp)
  target_link_libraries(strata_alloc_tests PRIVATE strata::strata strata::precompiled strata_catch_main
                        strata_dev_flags)
  target_link_libraries(strata_alloc_tests PRIVATE ${CMAKE_DL_LIBS})
  target_compile_definitions(strata_alloc_tests PRIVATE  # as strata_unit_tests, whose precompiled header it reuses
    STRATA_FIXTURE_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fixtures"
    STRATA_DATA_DIR="/usr/share/datasets/fashion-mnist")
  target_precompile_headers(strata_alloc_tests REUSE_FROM strata_unit_tests)
  catch_discover_tests(strata_alloc_tests TEST_PREFIX "alloc/" DISCOVERY_TIMEOUT 60)
endif()
