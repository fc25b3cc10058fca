#pragma once
/// @file
/// Explicit instantiation of strata's templates for float and double, for strata's own build only.
///
/// strata is header-only, so every translation unit instantiates and compiles again each op, module, model and
/// optimizer it uses; in the test suite that is most of the build (a test that trains a ResNet compiles the
/// whole library). When STRATA_EXTERN_TEMPLATES is defined, the headers that hold the heavy templates end with
/// `extern template` declarations for float and double (through the macros below), so such a TU compiles only
/// its own code and links the instantiations from one object built with STRATA_INSTANTIATE_TEMPLATES as well
/// (tests/support/instantiations.cpp, the `strata_instantiations` library of tests/CMakeLists.txt). Users of
/// the library define neither macro and never see this header: nothing changes for them.

#if defined(STRATA_INSTANTIATE_TEMPLATES)
#define STRATA_EXPLICIT_TEMPLATE template  // the instantiation TU: explicit instantiation definitions
#else
#define STRATA_EXPLICIT_TEMPLATE extern template  // everyone else: explicit instantiation declarations
#endif

/// Expands INSTANTIATE(T) for each scalar type that strata instantiates: float and double, or, in an
/// instantiation TU that defines STRATA_INSTANTIATE_SCALAR, that one type (one TU per type, so that a parallel
/// build compiles them side by side).
#if defined(STRATA_INSTANTIATE_TEMPLATES) && defined(STRATA_INSTANTIATE_SCALAR)
#define STRATA_FOR_EACH_SCALAR(INSTANTIATE) INSTANTIATE(STRATA_INSTANTIATE_SCALAR)
#else
#define STRATA_FOR_EACH_SCALAR(INSTANTIATE) INSTANTIATE(float) INSTANTIATE(double)
#endif
