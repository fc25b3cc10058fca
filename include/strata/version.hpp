#pragma once
/// @file
/// strata's version, one macro set for the whole library.

#define STRATA_VERSION_MAJOR 0
#define STRATA_VERSION_MINOR 1
#define STRATA_VERSION_PATCH 0
/// The version as a string, "MAJOR.MINOR.PATCH".
#define STRATA_VERSION_STRING "0.1.0"

namespace strata {
/// Version numbers as constants, for code that prefers them to macros.
inline constexpr int version_major = STRATA_VERSION_MAJOR;
inline constexpr int version_minor = STRATA_VERSION_MINOR;
inline constexpr int version_patch = STRATA_VERSION_PATCH;
}  // namespace strata
