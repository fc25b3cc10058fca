// The explicit instantiations of strata's templates for the scalar type STRATA_INSTANTIATE_SCALAR, included by
// instantiations_float.cpp and instantiations_double.cpp (the strata_instantiations library of
// tests/CMakeLists.txt, compiled once for the test suite and the examples); every other TU of theirs sees the
// matching `extern template` declarations. See include/strata/detail/extern_templates.hpp.
#pragma once
#ifndef STRATA_INSTANTIATE_SCALAR
#error "define STRATA_INSTANTIATE_SCALAR (float or double) before including this file"
#endif
#ifndef STRATA_EXTERN_TEMPLATES
#error "build with STRATA_EXTERN_TEMPLATES defined (target strata_instantiations)"
#endif
#define STRATA_INSTANTIATE_TEMPLATES
#include "strata/strata.hpp"
