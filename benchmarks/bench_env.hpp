#pragma once
// The benchmark programs' settings from the environment (STRATA_BENCH_BATCH and the like).

#include <cstdio>
#include <cstdlib>

#include "strata/core/shape.hpp"

namespace strata::bench {

/// A positive integer from the environment variable `name`, or `fallback` when it is unset or empty; exits with a
/// message naming `program`, the variable and its value when it is malformed.
inline index_t env_count(const char* program, const char* name, index_t fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    char* end = nullptr;
    const long long v = std::strtoll(text, &end, 10);
    if (*end != '\0' || v <= 0) {
        std::fprintf(stderr, "%s: %s must be a positive integer, got '%s'\n", program, name, text);
        std::exit(2);
    }
    return static_cast<index_t>(v);
}

}  // namespace strata::bench
