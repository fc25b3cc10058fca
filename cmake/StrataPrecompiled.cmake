# strata::precompiled: opt-in precompiled instantiations. strata is header-only, so every translation unit
# instantiates and compiles again each op, module, model and optimizer it uses; a target that links
# strata::precompiled instead compiles them once per scalar type (float, double) in a static library and gets
# cmake/precompiled/strata_precompiled.hpp as a precompiled header: the library's heavy headers plus an
# `extern template` declaration of every signature in that file's one list (STRATA_PRECOMPILED_SIGNATURES).
# The target is built only when something links it. strata's own tests use it (about half the CPU time of a
# clean test build); the programs under examples/ and consumers of the installed library do not need it.
set(_strata_pc_dir ${CMAKE_CURRENT_LIST_DIR}/precompiled)
add_library(strata_precompiled STATIC EXCLUDE_FROM_ALL
            ${_strata_pc_dir}/strata_precompiled_float.cpp ${_strata_pc_dir}/strata_precompiled_double.cpp)
add_library(strata::precompiled ALIAS strata_precompiled)
target_link_libraries(strata_precompiled PUBLIC strata::strata)
if(TARGET strata_dev_flags)
  target_link_libraries(strata_precompiled PUBLIC strata_dev_flags)  # strata's own build: same flags as its users
endif()
target_include_directories(strata_precompiled PRIVATE ${_strata_pc_dir})
target_precompile_headers(strata_precompiled INTERFACE ${_strata_pc_dir}/strata_precompiled.hpp)
