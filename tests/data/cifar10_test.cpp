// Tests of data/cifar10.hpp on synthetic CIFAR-10 binary files.

#include <catch2/catch.hpp>

#include "data/data_test_util.hpp"
#include "strata/data/cifar10.hpp"

using namespace strata;
using namespace strata::test;
using Catch::Contains;

namespace {
// `n` records with labels (first_label + i) % 10 and pixel bytes from pattern_bytes(salt).
Bytes cifar_records(std::size_t n, unsigned first_label, unsigned salt) {
    const Bytes pixels = pattern_bytes(n * 3072, 256, salt);
    Bytes out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(static_cast<std::uint8_t>((first_label + i) % 10));
        out.insert(out.end(), pixels.begin() + static_cast<std::ptrdiff_t>(i * 3072),
                   pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * 3072));
    }
    return out;
}

// Checks that dataset samples [first, first + records) hold the records in `bytes`, by the documented layout.
void check_records(const data::Dataset& d, index_t first, const Bytes& bytes) {
    const index_t n = static_cast<index_t>(bytes.size()) / 3073;
    for (index_t r = 0; r < n; ++r) {
        const std::uint8_t* rec = bytes.data() + r * 3073;
        CHECK(d.labels()[static_cast<std::size_t>(first + r)] == rec[0]);
        for (index_t c = 0; c < 3; ++c)
            for (index_t y = 0; y < 32; y += 7)
                for (index_t x = 0; x < 32; x += 5)
                    REQUIRE(d.images().at(first + r, c, y, x) ==
                            static_cast<float>(rec[1 + c * 1024 + y * 32 + x]) / 255.0f);
    }
}
}  // namespace

TEST_CASE("CIFAR-10: one batch file into [N, 3, 32, 32] in [0, 1]", "[data][cifar10]") {
    TempDir dir;
    Bytes bytes = cifar_records(3, 7, 1);
    bytes[1] = 0;                       // red (0, 0)
    bytes[1 + 1024 + 33] = 255;         // green (1, 1)
    bytes[1 + 2048 + 1023] = 51;        // blue (31, 31)
    write_bytes(dir.file("test_batch.bin"), bytes);
    const data::Dataset d = data::load_cifar10_batch(dir.file("test_batch.bin"));
    REQUIRE(d.images().shape() == Shape{3, 3, 32, 32});
    CHECK(d.labels() == std::vector<index_t>{7, 8, 9});
    CHECK(d.images().at(0, 0, 0, 0) == 0.0f);
    CHECK(d.images().at(0, 1, 1, 1) == 1.0f);
    CHECK(d.images().at(0, 2, 31, 31) == Approx(0.2f));
    check_records(d, 0, bytes);
    const data::Dataset t = data::load_cifar10(dir.str(), data::Split::test);
    CHECK(t.size() == 3);
}

TEST_CASE("CIFAR-10: the train split concatenates data_batch_1..5 in order", "[data][cifar10]") {
    TempDir dir;
    std::vector<Bytes> files;
    for (int i = 1; i <= 5; ++i) {
        files.push_back(cifar_records(static_cast<std::size_t>(i), static_cast<unsigned>(i), static_cast<unsigned>(i)));
        write_bytes(dir.file("data_batch_" + std::to_string(i) + ".bin"), files.back());
    }
    const data::Dataset d = data::load_cifar10(dir.str(), data::Split::train);
    REQUIRE(d.size() == 15);
    index_t first = 0;
    for (const auto& f : files) {
        check_records(d, first, f);
        first += static_cast<index_t>(f.size()) / 3073;
    }
    std::filesystem::remove(dir.file("data_batch_4.bin"));
    CHECK_THROWS_AS(data::load_cifar10(dir.str(), data::Split::train), IoError);
    CHECK_THROWS_WITH(data::load_cifar10(dir.str(), data::Split::train), Contains("data_batch_4.bin.gz"));
}

TEST_CASE("CIFAR-10: length and label errors name the file and values", "[data][cifar10]") {
    TempDir dir;
    const std::string path = dir.file("data_batch_1.bin");
    Bytes bytes = cifar_records(2, 0, 3);
    bytes.push_back(4);
    write_bytes(path, bytes);
    CHECK_THROWS_AS(data::load_cifar10_batch(path), FormatError);
    CHECK_THROWS_WITH(data::load_cifar10_batch(path), Contains(path) && Contains("has 6147 bytes") &&
                                                          Contains("3073-byte record") &&
                                                          Contains("2 records and 1 extra byte)"));
    bytes.resize(3072);
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(data::load_cifar10_batch(path),
                      Contains("has 3072 bytes") && Contains("0 records and 3072 extra bytes"));
    write_bytes(path, {});
    CHECK_THROWS_WITH(data::load_cifar10_batch(path), Contains(path) && Contains("empty"));
    bytes = cifar_records(3, 0, 3);
    bytes[3073] = 10;
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(data::load_cifar10_batch(path),
                      Contains(path) && Contains("record 1 (byte offset 3073) has label 10"));
}

#ifdef STRATA_HAS_ZLIB
TEST_CASE("CIFAR-10: gzip files", "[data][cifar10][gzip]") {
    TempDir dir;
    const Bytes bytes = cifar_records(4, 5, 9);
    const Bytes gz = write_gz(dir.file("test_batch.bin.gz"), bytes);
    const data::Dataset d = data::load_cifar10(dir.str(), data::Split::test);
    REQUIRE(d.size() == 4);
    check_records(d, 0, bytes);
    write_bytes(dir.file("test_batch.bin.gz"), Bytes(gz.begin(), gz.end() - 3));
    CHECK_THROWS_WITH(data::load_cifar10(dir.str(), data::Split::test), Contains("truncated gzip stream"));
    write_gz(dir.file("test_batch.bin.gz"), Bytes(bytes.begin(), bytes.end() - 1));
    CHECK_THROWS_WITH(data::load_cifar10(dir.str(), data::Split::test), Contains("has 12291 bytes"));
}
#endif
