// Tests of io/atomic_file.hpp: atomic_write_file replaces a file completely or not at all. A failure at every
// step (simulated with detail::ScopedWriteFault, or real: a missing directory, a directory in the way) throws
// IoError naming the path and strerror, leaves the previous content intact and removes the temporary file.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "support/temp_dir.hpp"
#include "strata/io/atomic_file.hpp"

using namespace strata;
using strata::test::TempDir;
using Catch::Contains;

namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("atomic_write_file creates and replaces a file, leaving nothing else", "[io][atomic]") {
    TempDir dir;
    const std::string path = dir.file("a.bin");
    io::atomic_write_file(path, bytes_of("first version"));
    CHECK(io::read_whole_file(path) == bytes_of("first version"));
    io::atomic_write_file(path, bytes_of("second"));
    CHECK(io::read_whole_file(path) == bytes_of("second"));
    io::atomic_write_file(path, std::vector<std::uint8_t>{});
    CHECK(io::read_whole_file(path).empty());
    CHECK(dir.listing() == std::vector<std::string>{"a.bin"});
    // Temporary names are unique and next to the target.
    const std::string t1 = io::detail::temp_name_for(path), t2 = io::detail::temp_name_for(path);
    CHECK(t1 != t2);
    CHECK(t1.rfind(path + ".tmp." + std::to_string(::getpid()) + ".", 0) == 0);
}

TEST_CASE("A failure at any step keeps the old file and removes the temporary file", "[io][atomic]") {
    TempDir dir;
    const std::string path = dir.file("state.ck");
    const std::vector<std::uint8_t> old = bytes_of("the previous, complete checkpoint");
    const std::vector<std::uint8_t> next(10000, 0xAB);
    io::atomic_write_file(path, old);
    struct Case {
        io::WriteStep step;
        int error;
        const char* says;
    };
    const Case cases[] = {
        {io::WriteStep::open, EACCES, "failed to create the temporary file"},
        {io::WriteStep::write, ENOSPC, "failed to write the temporary file"},
        {io::WriteStep::flush, ENOSPC, "failed to flush the temporary file"},
        {io::WriteStep::sync, EIO, "failed to fsync the temporary file"},
        {io::WriteStep::close, EIO, "failed to close the temporary file"},
        {io::WriteStep::rename, EXDEV, "failed to rename the temporary file over the target"},
    };
    for (const Case& c : cases) {
        INFO(c.says);
        io::detail::ScopedWriteFault fault({c.step, 5000, c.error});
        std::string msg;
        try {
            io::atomic_write_file(path, next);
        } catch (const IoError& e) {
            msg = e.what();
        }
        CHECK_THAT(msg, Contains("cannot save " + path + ": " + c.says + " " + path + ".tmp.") &&
                            Contains(std::string(": ") + std::strerror(c.error) + "; the previous file (if any) is unchanged"));
        CHECK(io::read_whole_file(path) == old);
        CHECK(dir.listing() == std::vector<std::string>{"state.ck"});
    }
    // A disk that fills up after 0, 1, half and all but one of the bytes.
    for (std::uint64_t after : {0, 1, 5000, 9999}) {
        io::detail::ScopedWriteFault fault({io::WriteStep::write, after, ENOSPC});
        CHECK_THROWS_WITH(io::atomic_write_file(path, next), Contains("No space left on device"));
        CHECK(io::read_whole_file(path) == old);
        CHECK(dir.listing() == std::vector<std::string>{"state.ck"});
    }
    // The fault is scoped: the same write now succeeds.
    io::atomic_write_file(path, next);
    CHECK(io::read_whole_file(path) == next);
}

TEST_CASE("A failed directory fsync is reported after the new file is in place", "[io][atomic]") {
    TempDir dir;
    const std::string path = dir.file("x");
    io::atomic_write_file(path, bytes_of("old"));
    {
        io::detail::ScopedWriteFault fault({io::WriteStep::sync_dir, 0, EIO});
        CHECK_THROWS_WITH(io::atomic_write_file(path, bytes_of("new")),
                          Contains("failed to fsync the directory") && Contains("may not survive a crash"));
    }
    CHECK(io::read_whole_file(path) == bytes_of("new"));
    CHECK(dir.listing() == std::vector<std::string>{"x"});
}

TEST_CASE("Real failures: a missing directory, a directory in the way", "[io][atomic]") {
    TempDir dir;
    const std::string missing = dir.file("no/such/dir/f.ck");
    CHECK_THROWS_AS(io::atomic_write_file(missing, bytes_of("x")), IoError);
    CHECK_THROWS_WITH(io::atomic_write_file(missing, bytes_of("x")),
                      Contains("cannot save " + missing + ": failed to create the temporary file") &&
                          Contains(std::strerror(ENOENT)));
    const std::string blocked = dir.file("blocked");
    fs::create_directories(fs::path(blocked) / "child");
    CHECK_THROWS_WITH(io::atomic_write_file(blocked, bytes_of("x")),
                      Contains("cannot save " + blocked + ": failed to rename the temporary file over the target"));
    CHECK(dir.listing() == std::vector<std::string>{"blocked"});
    CHECK(fs::is_directory(fs::path(blocked) / "child"));
}

TEST_CASE("read_whole_file reads everything and refuses missing or oversized files", "[io][atomic]") {
    TempDir dir;
    const std::string path = dir.file("r");
    std::vector<std::uint8_t> data(70000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
    io::atomic_write_file(path, data);
    CHECK(io::read_whole_file(path) == data);
    CHECK_THROWS_WITH(io::read_whole_file(path, 69999), Contains(path + ": file has 70000 bytes, more than the limit of 69999"));
    CHECK_THROWS_AS(io::read_whole_file(path, 69999), FormatError);
    CHECK_THROWS_WITH(io::read_whole_file(dir.file("none")), Contains("cannot open " + dir.file("none")) &&
                                                                 Contains(std::strerror(ENOENT)));
    CHECK_THROWS_AS(io::read_whole_file(dir.file("none")), IoError);
}
