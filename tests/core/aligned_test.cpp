#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <new>

#include "strata/core/aligned.hpp"

using namespace strata;

namespace {
std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }
}  // namespace

TEST_CASE("aligned_allocate aligns to 64 bytes, large buffers to whole 2 MB pages on Linux", "[core][aligned]") {
    for (const std::size_t bytes : {std::size_t{0}, std::size_t{1}, std::size_t{64}, std::size_t{1000},
                                    detail::huge_page_min_bytes - 1, detail::huge_page_min_bytes,
                                    detail::huge_page_min_bytes + 12345}) {
        INFO("bytes " << bytes);
        void* p = detail::aligned_allocate(bytes);
        REQUIRE(p != nullptr);
        CHECK(address(p) % alignment == 0);
#if defined(__linux__)
        if (bytes >= detail::huge_page_min_bytes) CHECK(address(p) % detail::huge_page_bytes == 0);
#endif
        // every byte asked for is usable (the sanitizer build checks the bounds)
        auto* c = static_cast<unsigned char*>(p);
        if (bytes > 1) {
            c[0] = 1;
            c[bytes - 1] = 2;
            CHECK(c[0] + c[bytes - 1] == 3);
        }
        detail::aligned_free(p);
    }
}

TEST_CASE("aligned_allocate throws std::bad_alloc when the memory cannot be had", "[core][aligned]") {
    CHECK_THROWS_AS(detail::aligned_allocate(std::numeric_limits<std::size_t>::max() / 2), std::bad_alloc);
    CHECK_THROWS_AS(detail::make_aligned_buffer<double>(std::numeric_limits<std::size_t>::max() / 64),
                    std::bad_alloc);
}
