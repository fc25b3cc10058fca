#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "support/isa_scope.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/ops/detail/gemm.hpp"

using namespace strata;
using strata::test::available_isas;
using strata::test::IsaScope;

namespace {

struct Case {
    index_t m, n, k;
    bool trans_a, trans_b, accumulate;
    index_t pad;  // extra elements per row of A, B and C beyond the width (leading dimension > width)
};

/// Runs strata::detail::gemm on one case and compares it with a triple loop in double: every element of C within
/// a bound proportional to k * epsilon * sum |a||b|, the padding of C's rows untouched, a product that does
/// not accumulate never reading C (C starts as NaN), and the packing buffers never written past their size.
template <class T>
void check_case(const Case& cs, std::mt19937& rng, bool blocking_for_larger_shape = false) {
    const index_t ar = cs.trans_a ? cs.k : cs.m, ac = cs.trans_a ? cs.m : cs.k;
    const index_t br = cs.trans_b ? cs.n : cs.k, bc = cs.trans_b ? cs.k : cs.n;
    const index_t lda = ac + cs.pad, ldb = bc + cs.pad, ldc = cs.n + cs.pad;
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<T> a(static_cast<std::size_t>(std::max<index_t>(1, ar * lda)));
    std::vector<T> b(static_cast<std::size_t>(std::max<index_t>(1, br * ldb)));
    for (auto& x : a) x = static_cast<T>(u(rng));
    for (auto& x : b) x = static_cast<T>(u(rng));
    const T sentinel = T(12345);
    std::vector<T> c(static_cast<std::size_t>(std::max<index_t>(1, cs.m * ldc)), sentinel);
    for (index_t i = 0; i < cs.m; ++i)
        for (index_t j = 0; j < cs.n; ++j)
            c[i * ldc + j] = cs.accumulate ? static_cast<T>(u(rng)) : std::numeric_limits<T>::quiet_NaN();
    const std::vector<T> c0 = c;

    const index_t grow = blocking_for_larger_shape ? 37 : 0;
    strata::detail::GemmBlocking<T> blocking(cs.m + grow, cs.n + grow, cs.k + grow);
    const index_t scratch_size = blocking.scratch_size();
    const index_t guard = 64;
    std::vector<T> storage(static_cast<std::size_t>(scratch_size + guard + 64), sentinel);
    T* scratch = storage.data();
    while (reinterpret_cast<std::uintptr_t>(scratch) % alignment != 0) ++scratch;
    std::fill(scratch, scratch + scratch_size + guard, sentinel);
    blocking.attach(scratch);
    strata::detail::gemm(cs.trans_a, cs.trans_b, cs.m, cs.n, cs.k, a.data(), lda, b.data(), ldb, c.data(), ldc,
                 cs.accumulate, blocking);

    for (index_t g = 0; g < guard; ++g) REQUIRE(scratch[scratch_size + g] == sentinel);
    const double eps = std::numeric_limits<T>::epsilon();
    for (index_t i = 0; i < cs.m; ++i) {
        for (index_t j = 0; j < cs.n; ++j) {
            double ref = cs.accumulate ? static_cast<double>(c0[i * ldc + j]) : 0.0;
            double magnitude = std::abs(ref);
            for (index_t p = 0; p < cs.k; ++p) {
                const double x = a[cs.trans_a ? p * lda + i : i * lda + p];
                const double y = b[cs.trans_b ? j * ldb + p : p * ldb + j];
                ref += x * y;
                magnitude += std::abs(x * y);
            }
            const double got = c[i * ldc + j];
            const double bound = 4.0 * static_cast<double>(cs.k + 2) * eps * magnitude + 1e-300;
            if (!(std::abs(got - ref) <= bound)) {
                INFO("isa " << isa_name(active_isa()) << " m " << cs.m << " n " << cs.n << " k " << cs.k
                            << " trans_a " << cs.trans_a << " trans_b " << cs.trans_b << " accumulate "
                            << cs.accumulate << " pad " << cs.pad << " at (" << i << ", " << j << "): got " << got
                            << ", want " << ref);
                REQUIRE(std::abs(got - ref) <= bound);
            }
        }
        for (index_t j = cs.n; j < ldc; ++j) REQUIRE(c[i * ldc + j] == sentinel);
    }
}

/// Shapes around every register-tile and cache-block edge of every kernel family: 1, primes, multiples of
/// the tile sizes (6, 8, 16, 32) and one past or short of them, depths across the 256-deep cache block.
const index_t gemm_dims[] = {1, 2, 3, 5, 7, 8, 13, 17, 31, 33};
const index_t block_dims[][3] = {{64, 3136 / 4, 49},  {97, 193, 257}, {200, 41, 300}, {5, 1100, 3},
                                 {193, 65, 513},     {48, 96, 256},   {1, 1, 600},    {600, 1, 7},
                                 {7, 2049, 11},      {13, 17, 1}};

}  // namespace

TEMPLATE_TEST_CASE("gemm on every kernel family matches a triple loop on awkward shapes", "[ops][gemm]", float,
                   double) {
    using T = TestType;
    for (const Isa isa : available_isas()) {
        IsaScope scope(isa);
        std::mt19937 rng(7 + static_cast<unsigned>(isa));
        for (const bool ta : {false, true})
            for (const bool tb : {false, true})
                for (const bool acc : {false, true}) {
                    for (const index_t m : gemm_dims)
                        for (const index_t n : {index_t{1}, index_t{15}, index_t{16}, index_t{17}, index_t{33}})
                            for (const index_t k : {index_t{1}, index_t{2}, index_t{11}})
                                check_case<T>({m, n, k, ta, tb, acc, (m + n) % 3 == 0 ? 5 : 0}, rng);
                    for (const auto& d : block_dims) check_case<T>({d[0], d[1], d[2], ta, tb, acc, 3}, rng);
                }
    }
}

TEMPLATE_TEST_CASE("gemm with a blocking computed for a larger product", "[ops][gemm]", float, double) {
    using T = TestType;
    for (const Isa isa : available_isas()) {
        IsaScope scope(isa);
        std::mt19937 rng(11);
        for (const auto& d : block_dims) {
            check_case<T>({d[0], d[1], d[2], false, false, false, 0}, rng, true);
            check_case<T>({d[0], d[1], d[2], true, true, true, 1}, rng, true);
        }
    }
}

TEMPLATE_TEST_CASE("gemm leaves C alone when m or n is 0 and clears or keeps it when k is 0", "[ops][gemm]", float,
                   double) {
    using T = TestType;
    for (const Isa isa : available_isas()) {
        IsaScope scope(isa);
        std::vector<T> a(8, T(1)), b(8, T(1)), c(8, T(3));
        strata::detail::GemmBlocking<T> blocking(2, 2, 2);
        std::vector<T> scratch(static_cast<std::size_t>(blocking.scratch_size()) + 64);
        blocking.attach(scratch.data());
        strata::detail::gemm(false, false, 0, 2, 2, a.data(), 2, b.data(), 2, c.data(), 2, false, blocking);
        strata::detail::gemm(false, false, 2, 0, 2, a.data(), 2, b.data(), 2, c.data(), 2, false, blocking);
        CHECK(c == std::vector<T>(8, T(3)));
        strata::detail::gemm(false, false, 2, 2, 0, a.data(), 2, b.data(), 2, c.data(), 2, true, blocking);
        CHECK(c == std::vector<T>(8, T(3)));
        strata::detail::gemm(false, false, 2, 2, 0, a.data(), 2, b.data(), 2, c.data(), 2, false, blocking);
        CHECK(std::vector<T>(c.begin(), c.begin() + 4) == std::vector<T>(4, T(0)));
    }
}

TEMPLATE_TEST_CASE("gemm_with_scratch matches gemm above the threading threshold", "[ops][gemm]", float, double) {
    using T = TestType;
    const index_t m = 70, n = 300, k = 260;  // 5.5 M multiply-adds: threaded when threads are available
    REQUIRE(static_cast<double>(m * n * k) >= strata::detail::gemm_threading_threshold);
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<T> a(static_cast<std::size_t>(n * k)), b(static_cast<std::size_t>(k * n));  // room for either shape
    for (auto& x : a) x = static_cast<T>(u(rng));
    for (auto& x : b) x = static_cast<T>(u(rng));
    for (const Isa isa : available_isas()) {
        IsaScope scope(isa);
        for (const bool tall : {false, true}) {  // split by columns (n >= m) and by rows (m > n)
            const index_t rows = tall ? n : m, cols = tall ? m : n;
            std::vector<T> c(static_cast<std::size_t>(rows * cols), T(1)), want = c;
            std::vector<std::vector<T>> buffers;
            strata::detail::gemm_with_scratch(tall, tall, rows, cols, k, a.data(), tall ? rows : k, b.data(),
                                      tall ? k : cols, c.data(), cols, true, [&](index_t count) {
                                          buffers.emplace_back(static_cast<std::size_t>(count) + 64);
                                          T* p = buffers.back().data();
                                          while (reinterpret_cast<std::uintptr_t>(p) % alignment != 0) ++p;
                                          return p;
                                      });
            for (index_t i = 0; i < rows; ++i)
                for (index_t j = 0; j < cols; ++j) {
                    double ref = 1.0;
                    for (index_t p = 0; p < k; ++p)
                        ref += double(tall ? a[p * rows + i] : a[i * k + p]) * double(tall ? b[j * k + p] : b[p * cols + j]);
                    REQUIRE(std::abs(double(c[i * cols + j]) - ref) <=
                            4.0 * k * std::numeric_limits<T>::epsilon() * (1.0 + k));
                }
        }
    }
}

namespace {

/// Column offsets of the patterns an OffsetMatrix takes in a convolution: contiguous (a 1x1 stride-1
/// convolution), runs of `run` separated by a gap (the output rows of a stride-1 convolution), every second
/// element (stride 2: a gather), and scattered (a gather).
std::vector<std::int32_t> column_offsets(int pattern, index_t n, index_t run, std::mt19937& rng) {
    std::vector<std::int32_t> off(static_cast<std::size_t>(n));
    std::int32_t next = 0;
    for (index_t q = 0; q < n; ++q) {
        switch (pattern) {
            case 0: off[q] = static_cast<std::int32_t>(q); break;
            case 1: off[q] = static_cast<std::int32_t>(q + (q / run) * 2); break;
            case 2: off[q] = static_cast<std::int32_t>(2 * q); break;
            default: next += 1 + static_cast<std::int32_t>(rng() % 5); off[q] = next; break;
        }
    }
    return off;
}

template <class T>
void check_offsets_case(index_t m, index_t n, index_t k, int pattern, index_t run, bool accumulate, std::mt19937& rng) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    const std::vector<std::int32_t> col_off = column_offsets(pattern, n, run, rng);
    std::vector<std::int32_t> row_off(static_cast<std::size_t>(k));
    std::int32_t next = 0;
    for (auto& r : row_off) {
        r = next;
        next += 1 + static_cast<std::int32_t>(rng() % 7);
    }
    std::vector<T> base(static_cast<std::size_t>(row_off.back() + col_off.back() + 1));
    for (auto& x : base) x = static_cast<T>(u(rng));
    std::vector<T> a(static_cast<std::size_t>(m * k));
    for (auto& x : a) x = static_cast<T>(u(rng));
    std::vector<T> c(static_cast<std::size_t>(m * n));
    for (auto& x : c) x = accumulate ? static_cast<T>(u(rng)) : std::numeric_limits<T>::quiet_NaN();
    const std::vector<T> c0 = c;

    strata::detail::GemmBlocking<T> blocking(m, n, k);
    const T sentinel = T(4321);
    const index_t guard = 64, packed_size = blocking.packed_a_size(m, k), scratch_size = blocking.scratch_size();
    std::vector<T> storage(static_cast<std::size_t>(packed_size + scratch_size + 2 * guard + 128), sentinel);
    T* packed = storage.data();
    while (reinterpret_cast<std::uintptr_t>(packed) % alignment != 0) ++packed;
    T* scratch = packed + packed_size + guard;
    while (reinterpret_cast<std::uintptr_t>(scratch) % alignment != 0) ++scratch;
    blocking.attach(scratch);
    const auto packed_a = strata::detail::gemm_pack_a(false, m, k, a.data(), k, blocking, packed);
    strata::detail::gemm_offsets(packed_a, n, strata::detail::OffsetMatrix<T>{base.data(), row_off.data(), col_off.data()},
                                 c.data(), n, accumulate, blocking);
    for (index_t g = 0; g < guard; ++g) {
        REQUIRE(packed[packed_size + g] == sentinel);
        REQUIRE(scratch[scratch_size + g] == sentinel);
    }
    const double eps = std::numeric_limits<T>::epsilon();
    for (index_t i = 0; i < m; ++i)
        for (index_t j = 0; j < n; ++j) {
            double ref = accumulate ? static_cast<double>(c0[i * n + j]) : 0.0, magnitude = std::abs(ref);
            for (index_t p = 0; p < k; ++p) {
                const double x = a[i * k + p], y = base[row_off[p] + col_off[j]];
                ref += x * y;
                magnitude += std::abs(x * y);
            }
            const double got = c[i * n + j];
            if (!(std::abs(got - ref) <= 4.0 * static_cast<double>(k + 2) * eps * magnitude + 1e-300)) {
                INFO("isa " << isa_name(active_isa()) << " m " << m << " n " << n << " k " << k << " pattern "
                            << pattern << " run " << run << " accumulate " << accumulate << " at (" << i << ", "
                            << j << "): got " << got << ", want " << ref);
                REQUIRE(std::abs(got - ref) <= 4.0 * static_cast<double>(k + 2) * eps * magnitude);
            }
        }
}

}  // namespace

TEMPLATE_TEST_CASE("gemm_offsets (prepacked A, B read through offsets) matches a triple loop", "[ops][gemm]", float,
                   double) {
    using T = TestType;
    for (const Isa isa : available_isas()) {
        if (isa == Isa::generic) continue;  // no prepacked form: convolution keeps im2col there
        IsaScope scope(isa);
        std::mt19937 rng(19 + static_cast<unsigned>(isa));
        for (const int pattern : {0, 1, 2, 3})
            for (const index_t run : {index_t{3}, index_t{7}, index_t{12}, index_t{28}}) {
                if (pattern != 1 && run != 3) continue;
                for (const bool acc : {false, true}) {
                    for (const index_t m : {index_t{1}, index_t{7}, index_t{9}, index_t{64}})
                        for (const index_t n : {index_t{1}, index_t{5}, index_t{16}, index_t{17}, index_t{33}, index_t{147}})
                            for (const index_t k : {index_t{1}, index_t{3}, index_t{40}})
                                check_offsets_case<T>(m, n, k, pattern, run, acc, rng);
                    check_offsets_case<T>(9, 1100, 300, pattern, run, acc, rng);  // several column and depth blocks
                }
            }
        check_offsets_case<T>(200, 1030, 300, 1, 7, true, rng);  // and several row blocks of the packed A
    }
}

TEST_CASE("the ISA switch names, parses and refuses what the CPU lacks", "[core][cpu_features]") {
    CHECK(cpu_supports(Isa::generic));
    CHECK(cpu_supports(best_cpu_isa()));
    CHECK(parse_isa("avx2") == Isa::avx2);
    CHECK(parse_isa("avx512") == Isa::avx512);
    CHECK(parse_isa("generic") == Isa::generic);
    CHECK_THROWS_WITH(parse_isa("sse9"), Catch::Contains("sse9"));
    CHECK(std::string(isa_name(Isa::avx512)) == "avx512");
    const Isa before = active_isa();
    for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
        if (cpu_supports(isa)) {
            set_isa(isa);
            CHECK(active_isa() == isa);
        } else {
            CHECK_THROWS_AS(set_isa(isa), ArgumentError);
        }
    }
    set_isa(before);
}
