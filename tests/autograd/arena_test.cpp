#include <catch2/catch.hpp>

#include "strata/autograd/arena.hpp"

using namespace strata;

TEST_CASE("Arena hands out 64-byte aligned, non-overlapping memory", "[arena]") {
    Arena arena(1024);
    char* a = static_cast<char*>(arena.allocate(1));
    char* b = static_cast<char*>(arena.allocate(100));
    char* c = static_cast<char*>(arena.allocate(64));
    for (char* p : {a, b, c}) CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
    CHECK(b - a == 64);
    CHECK(c - b == 128);
    CHECK(arena.bytes_in_use() == 256);
}

TEST_CASE("Arena grows in blocks, then merges them so repeated steps stop allocating", "[arena]") {
    Arena arena(256);
    auto step = [&] {
        for (int i = 0; i < 20; ++i) arena.allocate(200);
    };
    step();
    CHECK(arena.block_count() > 1);
    const std::size_t reserved = arena.bytes_reserved();
    arena.rewind();
    CHECK(arena.block_count() == 1);
    CHECK(arena.bytes_reserved() == reserved);
    CHECK(arena.bytes_in_use() == 0);
    step();
    CHECK(arena.block_count() == 1);
    arena.rewind();
    step();
    CHECK(arena.block_count() == 1);
    CHECK(arena.bytes_reserved() == reserved);
}

TEST_CASE("Arena serves a request larger than any block", "[arena]") {
    Arena arena(128);
    void* p = arena.allocate(10000);
    CHECK(p != nullptr);
    CHECK(arena.bytes_reserved() >= 10000);
}

TEST_CASE("Arena::rewind_to releases what came after a position, also across blocks", "[arena]") {
    Arena arena(256);
    char* kept = static_cast<char*>(arena.allocate(64));
    const Arena::Position mark = arena.position();
    char* scratch = static_cast<char*>(arena.allocate(128));
    char* spill = static_cast<char*>(arena.allocate(512));  // a second block
    CHECK(arena.block_count() == 2);
    CHECK(arena.bytes_in_use() == 64 + 128 + 512);
    arena.rewind_to(mark);
    CHECK(arena.bytes_in_use() == 64);
    CHECK(arena.block_count() == 2);  // the memory stays with the arena
    // The next allocations reuse the released memory in the same order, first block first.
    CHECK(static_cast<char*>(arena.allocate(128)) == scratch);
    CHECK(static_cast<char*>(arena.allocate(512)) == spill);
    CHECK(kept != scratch);
}
