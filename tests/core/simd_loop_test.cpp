#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "strata/core/cpu_features.hpp"
#include "strata/core/simd_loop.hpp"
#include "support/isa_scope.hpp"

using namespace strata;

namespace {

/// Runs simd_loop_sqrt over `x` compiled for the active ISA: out[i] = sqrt(x[i]) * 2 + i, the roots taken between
/// the two halves; the first half also writes each x[i] squared to `sq` (a store the second half does not read).
template <class T>
void roots_by_simd_loop(const T* x, T* sq, T* out, index_t n) {
    strata::detail::run_for_active_isa([&] {
        strata::detail::simd_loop_sqrt(
            n,
            [=](index_t i) {
                sq[i] = x[i] * x[i];
                return x[i];
            },
            [=](index_t i, T root) { out[i] = root * T(2) + T(i); });
    });
}

/// Same bits (so NaN equals NaN of the same payload and -0 differs from +0).
template <class T>
bool same_scalar_bits(T a, T b) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <class T>
void check_simd_loop_sqrt() {
    // Lengths below, at and around whole blocks of 16; values include a negative (NaN root), -0, +inf, NaN and a
    // denormal, so the vector roots must match std::sqrt bit for bit everywhere.
    const T specials[] = {T(-1), T(-0.0), std::numeric_limits<T>::infinity(), std::numeric_limits<T>::quiet_NaN(),
                          std::numeric_limits<T>::denorm_min(), T(2)};
    for (const Isa isa : strata::test::available_isas()) {
        strata::test::IsaScope scope(isa);
        for (const index_t n : {0, 1, 15, 16, 17, 40, 67}) {
            INFO("kernels " << isa_name(isa) << ", n " << n);
            std::vector<T> x(static_cast<std::size_t>(n)), sq(x.size()), out(x.size());
            for (index_t i = 0; i < n; ++i)
                x[static_cast<std::size_t>(i)] = i % 7 == 6 ? specials[(i / 7) % 6] : T(0.37) * T(i) + T(0.01);
            roots_by_simd_loop(x.data(), sq.data(), out.data(), n);
            bool all_same = true;
            for (std::size_t i = 0; i < x.size(); ++i) {
                const T root = std::sqrt(x[i]);
                all_same = all_same && same_scalar_bits(out[i], T(root * T(2) + T(static_cast<index_t>(i)))) &&
                           same_scalar_bits(sq[i], T(x[i] * x[i]));
            }
            CHECK(all_same);
        }
    }
}

}  // namespace

TEST_CASE("simd_loop_sqrt takes the same roots as std::sqrt on every kernel family", "[core][simd]") {
    SECTION("float") { check_simd_loop_sqrt<float>(); }
    SECTION("double") { check_simd_loop_sqrt<double>(); }
}
