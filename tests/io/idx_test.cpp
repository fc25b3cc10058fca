// Tests of io/idx.hpp (IDX reader) and io/file_bytes.hpp (raw/gzip byte reading) on files the tests write,
// good and corrupted in every way the reader must catch.

#include <catch2/catch.hpp>

#include "data/data_test_util.hpp"
#include "strata/io/file_bytes.hpp"
#include "strata/io/idx.hpp"

using namespace strata;
using namespace strata::test;
using Catch::Contains;

namespace {
// A small valid IDX file: 2 x 3 x 4 unsigned bytes (16-byte header + 24 data bytes).
const std::vector<std::uint32_t> small_dims = {2, 3, 4};
const Bytes small_data = pattern_bytes(24);
const Bytes small_file = idx_file(small_dims, small_data);
}  // namespace

TEST_CASE("read_idx reads a raw file: dims and bytes", "[io][idx]") {
    TempDir dir;
    const std::string path = dir.file("x-idx3-ubyte");
    write_bytes(path, small_file);
    const io::IdxArray a = io::read_idx(path, 3);
    CHECK(a.shape == Shape{2, 3, 4});
    CHECK(a.data == small_data);
    // A 1-d file, and a rank-6 one.
    write_bytes(path, idx_file({5}, {0, 1, 2, 9, 255}));
    const io::IdxArray b = io::read_idx(path);
    CHECK(b.shape == Shape{5});
    CHECK(b.data == Bytes{0, 1, 2, 9, 255});
    write_bytes(path, idx_file({1, 2, 1, 2, 1, 2}, pattern_bytes(8)));
    CHECK(io::read_idx(path).shape == Shape{1, 2, 1, 2, 1, 2});
    // Zero images is a valid (empty) file.
    write_bytes(path, idx_file({0, 28, 28}, {}));
    CHECK(io::read_idx(path, 3).data.empty());
}

TEST_CASE("read_idx rejects a bad magic number, naming the file and the value", "[io][idx]") {
    TempDir dir;
    const std::string path = dir.file("bad-magic");
    Bytes f = small_file;
    f[0] = 0x12;
    write_bytes(path, f);
    CHECK_THROWS_AS(io::read_idx(path), FormatError);
    CHECK_THROWS_WITH(io::read_idx(path, 3), Contains(path) && Contains("not an IDX file") &&
                                                 Contains("0x12000803") && Contains("expected 0x00000803"));
    f = small_file;
    f[1] = 0x01;
    write_bytes(path, f);
    CHECK_THROWS_WITH(io::read_idx(path), Contains("0x00010803"));
}

TEST_CASE("read_idx rejects every type code but 0x08, naming it", "[io][idx]") {
    TempDir dir;
    const std::string path = dir.file("typed");
    const std::vector<std::pair<std::uint8_t, const char*>> codes = {
        {0x09, "0x09 (signed byte)"}, {0x0B, "0x0b (int16)"},   {0x0C, "0x0c (int32)"},
        {0x0D, "0x0d (float32)"},     {0x0E, "0x0e (float64)"}, {0x42, "0x42 (not a type"}};
    for (const auto& [code, text] : codes) {
        write_bytes(path, idx_file(small_dims, small_data, code));
        CHECK_THROWS_AS(io::read_idx(path), FormatError);
        CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains(text) && Contains("type code"));
    }
}

TEST_CASE("read_idx rejects a wrong number of dimensions", "[io][idx]") {
    TempDir dir;
    const std::string path = dir.file("dims");
    write_bytes(path, Bytes{0, 0, 8, 0});
    CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains("says 0 dimensions"));
    write_bytes(path, idx_file({1, 1, 1, 1, 1, 1, 1}, {7}));
    CHECK_THROWS_WITH(io::read_idx(path), Contains("says 7 dimensions") && Contains("1 to 6"));
    write_bytes(path, idx_file({4}, {1, 2, 3, 4}));
    CHECK_NOTHROW(io::read_idx(path, 1));
    CHECK_THROWS_AS(io::read_idx(path, 3), FormatError);
    CHECK_THROWS_WITH(io::read_idx(path, 3), Contains("0x00000801") && Contains("says 1 dimension; expected 3") &&
                                                 Contains("(magic number 0x00000803)"));
}

TEST_CASE("read_idx reports truncation at every offset of a raw file", "[io][idx]") {
    TempDir dir;
    const std::string path = dir.file("cut-idx3-ubyte");
    for (std::size_t k = 0; k < small_file.size(); ++k) {
        INFO("file cut to " << k << " bytes");
        write_bytes(path, Bytes(small_file.begin(), small_file.begin() + static_cast<std::ptrdiff_t>(k)));
        CHECK_THROWS_AS(io::read_idx(path), FormatError);
        CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains("truncated"));
        if (k >= 16)
            CHECK_THROWS_WITH(io::read_idx(path), Contains("header says 2 x 3 x 4 = 24 bytes of data but the file "
                                                           "has " + std::to_string(k - 16)));
        else if (k >= 4)
            CHECK_THROWS_WITH(io::read_idx(path), Contains("inside the 16-byte IDX header"));
        else
            CHECK_THROWS_WITH(io::read_idx(path), Contains("inside the 4-byte IDX magic"));
    }
}

TEST_CASE("read_idx checks the header's size against the file's length, exactly", "[io][idx]") {
    TempDir dir;
    const std::string path = dir.file("train-images-idx3-ubyte");
    Bytes extra = small_file;
    extra.push_back(1);
    extra.push_back(2);
    write_bytes(path, extra);
    CHECK_THROWS_AS(io::read_idx(path), FormatError);
    CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains("2 x 3 x 4 = 24 bytes of data") &&
                                              Contains("has 26") && Contains("2 trailing bytes"));
    // MNIST-sized claim over a small file: rejected before allocating 47 MB.
    write_bytes(path, idx_file({60000, 28, 28}, pattern_bytes(1234)));
    CHECK_THROWS_WITH(io::read_idx(path),
                      Contains(path + ": truncated: header says 60000 x 28 x 28 = 47040000 bytes of data but the "
                                      "file has 1234"));
    // Absurd dimensions: the product overflows.
    write_bytes(path, idx_file({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, small_data));
    CHECK_THROWS_WITH(io::read_idx(path), Contains("4294967295 x 4294967295 x 4294967295") && Contains("overflow"));
}

TEST_CASE("file errors name the path; IoError when a file is missing", "[io][idx]") {
    TempDir dir;
    const std::string path = dir.file("missing-idx1-ubyte");
    CHECK_THROWS_AS(io::read_idx(path), IoError);
    CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains("cannot open"));
}

TEST_CASE("read_file_bytes and find_file_or_gz", "[io][file_bytes]") {
    TempDir dir;
    const Bytes data = pattern_bytes(5000);
    write_bytes(dir.file("a.bin"), data);
    CHECK(io::read_file_bytes(dir.file("a.bin")) == data);
    CHECK_THROWS_AS(io::read_file_bytes(dir.file("a.bin"), 4999), FormatError);
    CHECK_THROWS_WITH(io::read_file_bytes(dir.file("a.bin"), 4999), Contains("5000 bytes") && Contains("4999"));
    CHECK(io::find_file_or_gz(dir.str(), "a.bin") == dir.file("a.bin"));
    CHECK_THROWS_AS(io::find_file_or_gz(dir.str(), "b.bin"), IoError);
    CHECK_THROWS_WITH(io::find_file_or_gz(dir.str(), "b.bin"),
                      Contains(dir.file("b.bin")) && Contains(dir.file("b.bin.gz")));
    write_bytes(dir.file("b.bin.gz"), {});
    CHECK(io::find_file_or_gz(dir.str(), "b.bin") == dir.file("b.bin.gz"));
    write_bytes(dir.file("b.bin"), {});
    CHECK(io::find_file_or_gz(dir.str(), "b.bin") == dir.file("b.bin"));  // raw first
}

#ifdef STRATA_HAS_ZLIB

TEST_CASE("read_idx reads gzip files, by name or by magic", "[io][idx][gzip]") {
    TempDir dir;
    write_gz(dir.file("x-idx3-ubyte.gz"), small_file);
    const io::IdxArray a = io::read_idx(dir.file("x-idx3-ubyte.gz"), 3);
    CHECK(a.shape == Shape{2, 3, 4});
    CHECK(a.data == small_data);
    write_gz(dir.file("no-suffix"), small_file);  // detected by the 1f 8b magic
    CHECK(io::read_idx(dir.file("no-suffix")).data == small_data);
    // Two concatenated gzip members are one valid gzip file.
    const Bytes first = write_gz(dir.file("p1.gz"), Bytes(small_file.begin(), small_file.begin() + 21));
    Bytes both = write_gz(dir.file("p2.gz"), Bytes(small_file.begin() + 21, small_file.end()));
    both.insert(both.begin(), first.begin(), first.end());
    write_bytes(dir.file("two-members.gz"), both);
    CHECK(io::read_idx(dir.file("two-members.gz")).data == small_data);
    // A larger file, several inflate buffers long.
    const Bytes big = pattern_bytes(300 * 17 * 19, 7);
    write_gz(dir.file("big.gz"), idx_file({300, 17, 19}, big));
    CHECK(io::read_idx(dir.file("big.gz")).data == big);
}

TEST_CASE("a gzip stream cut short at every offset is 'truncated'", "[io][idx][gzip]") {
    TempDir dir;
    const Bytes gz = write_gz(dir.file("whole.gz"), small_file);
    const std::string path = dir.file("cut-idx3-ubyte.gz");
    for (std::size_t k = 0; k < gz.size(); ++k) {
        INFO("gzip file cut to " << k << " of " << gz.size() << " bytes");
        write_bytes(path, Bytes(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(k)));
        CHECK_THROWS_AS(io::read_idx(path), FormatError);
        CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains("truncated gzip stream"));
    }
}

TEST_CASE("a complete gzip stream of a truncated IDX file, at every offset, is 'truncated'", "[io][idx][gzip]") {
    TempDir dir;
    const std::string path = dir.file("short-idx3-ubyte.gz");
    for (std::size_t k = 0; k < small_file.size(); ++k) {
        INFO("IDX content cut to " << k << " bytes");
        write_gz(path, Bytes(small_file.begin(), small_file.begin() + static_cast<std::ptrdiff_t>(k)));
        CHECK_THROWS_AS(io::read_idx(path), FormatError);
        CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains("truncated"));
        if (k >= 16)
            CHECK_THROWS_WITH(io::read_idx(path), Contains("24 bytes of data but the decompressed file has " +
                                                           std::to_string(k - 16)));
    }
}

TEST_CASE("gzip: trailing bytes, absurd claims, corrupt data", "[io][idx][gzip]") {
    TempDir dir;
    const std::string path = dir.file("t10k-images-idx3-ubyte.gz");
    Bytes extra = small_file;
    extra.insert(extra.end(), {9, 9, 9});
    write_gz(path, extra);
    CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains("24 bytes of data") &&
                                              Contains("decompressed file has 27") && Contains("3 trailing bytes"));
    // A claim no gzip file of this size can hold is rejected up front.
    write_gz(path, idx_file({1000000, 1000, 1000}, small_data));
    CHECK_THROWS_WITH(io::read_idx(path), Contains("1000000 x 1000 x 1000 = 1000000000000 bytes of data") &&
                                              Contains("decompresses to at most"));
    // A plausible claim the stream does not back up fails as truncated after streaming what is there.
    write_gz(path, idx_file({60000, 28, 28}, pattern_bytes(50000)));
    CHECK_THROWS_WITH(io::read_idx(path), Contains("truncated: header says 60000 x 28 x 28 = 47040000 bytes") &&
                                              Contains("decompressed file has 50000"));
    // Garbage after the gzip stream.
    Bytes gz = write_gz(path, small_file);
    gz.insert(gz.end(), {1, 2, 3, 4});
    write_bytes(path, gz);
    CHECK_THROWS_AS(io::read_idx(path), FormatError);
    CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains("corrupt gzip data") &&
                                              Contains("do not start another gzip member"));
    // A flipped bit in the CRC, and in the compressed data.
    gz = write_gz(path, small_file);
    gz[gz.size() - 6] ^= 0x10;
    write_bytes(path, gz);
    CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains("corrupt gzip data"));
    gz = write_gz(path, small_file);
    gz[12] ^= 0xFF;
    write_bytes(path, gz);
    CHECK_THROWS_AS(io::read_idx(path), FormatError);
    // A raw IDX file named .gz is not gzip.
    write_bytes(path, small_file);
    CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains("corrupt gzip data"));
}

TEST_CASE("read_file_bytes decompresses, with a limit", "[io][file_bytes][gzip]") {
    TempDir dir;
    const Bytes data = pattern_bytes(3 << 20, 256, 5);  // more than one growth chunk
    write_gz(dir.file("d.gz"), data);
    CHECK(io::read_file_bytes(dir.file("d.gz")) == data);
    CHECK(io::read_file_bytes(dir.file("d.gz"), data.size()) == data);
    CHECK_THROWS_WITH(io::read_file_bytes(dir.file("d.gz"), data.size() - 1),
                      Contains(dir.file("d.gz")) &&
                          Contains("more than the limit of " + std::to_string(data.size() - 1)));
    io::ByteReader reader(dir.file("d.gz"));
    CHECK(reader.compressed());
    CHECK_FALSE(reader.exact_size().has_value());
    CHECK(reader.max_size() == reader.file_size() * io::max_gzip_ratio);
}

#else

TEST_CASE("without zlib, a gzip file is a clear IoError", "[io][idx][gzip]") {
    TempDir dir;
    const std::string path = dir.file("train-images-idx3-ubyte.gz");
    write_bytes(path, {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3});
    CHECK_THROWS_AS(io::read_idx(path), IoError);
    CHECK_THROWS_WITH(io::read_idx(path), Contains(path) && Contains("built without zlib"));
    write_bytes(dir.file("magic-only"), {0x1f, 0x8b, 8, 0});
    CHECK_THROWS_WITH(io::read_file_bytes(dir.file("magic-only")), Contains("built without zlib"));
}

#endif
