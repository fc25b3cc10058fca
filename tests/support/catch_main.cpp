// Catch2's main, compiled once for every test executable.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STRATA_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define STRATA_TEST_ASAN 1
#endif

#ifdef STRATA_TEST_ASAN
/// Under AddressSanitizer an allocation too large to have returns null (and so throws std::bad_alloc, as it does
/// without the sanitizer) instead of aborting the run: the tests that ask for one check that exception.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#endif
