#pragma once
// The size of the integration tests, from the environment variable STRATA_TEST_SCALE: "full" (the default, what
// the release build runs) or "small" (what the sanitizer build runs: fewer images and steps, with thresholds
// loosened to match but still far from chance, so a broken model or optimizer still fails). tests/CMakeLists.txt
// sets the variable on the ctest registrations from the STRATA_TEST_SCALE cache variable.

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace strata::testing {

/// Whether STRATA_TEST_SCALE asks for the small size. Throws std::invalid_argument on a value other than
/// "full", "small" or empty, so a typo does not silently run the wrong size.
inline bool small_scale() {
    const char* env = std::getenv("STRATA_TEST_SCALE");
    const std::string value = env ? env : "";
    if (value.empty() || value == "full") return false;
    if (value == "small") return true;
    throw std::invalid_argument("STRATA_TEST_SCALE must be 'full' or 'small', not '" + value + "'");
}

/// `full` at full size, `small` at small size.
template <class T>
T scaled(T full, T small) {
    return small_scale() ? small : full;
}

}  // namespace strata::testing
