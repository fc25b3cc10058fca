// Tests of data/mnist.hpp: load_mnist on synthetic MNIST-format directories (raw and gzip), its errors, and on
// the real Fashion-MNIST in fashion_mnist_real.cpp.

#include <catch2/catch.hpp>

#include <filesystem>

#include "data/data_test_util.hpp"
#include "strata/data/mnist.hpp"

using namespace strata;
using namespace strata::test;
using Catch::Contains;

namespace {

// Writes a split of `n` images of rows x cols with labels i % 10 into `dir`; `suffix` is "" or ".gz".
Bytes write_split(const TempDir& dir, const std::string& prefix, std::uint32_t n, std::uint32_t rows,
                  std::uint32_t cols, const std::string& suffix) {
    const Bytes pixels = pattern_bytes(std::size_t{n} * rows * cols, 256, n);
    Bytes labels(n);
    for (std::uint32_t i = 0; i < n; ++i) labels[i] = static_cast<std::uint8_t>((i * 7 + 3) % 10);
    write_file(dir.file(prefix + "-images-idx3-ubyte" + suffix), idx_file({n, rows, cols}, pixels));
    write_file(dir.file(prefix + "-labels-idx1-ubyte" + suffix), idx_file({n}, labels));
    return pixels;
}

void check_split(const data::Dataset& d, const Bytes& pixels, std::uint32_t n, std::uint32_t rows,
                 std::uint32_t cols) {
    REQUIRE(d.images().shape() == Shape{n, 1, rows, cols});
    REQUIRE(d.size() == n);
    for (std::uint32_t i = 0; i < n; ++i) CHECK(d.labels()[i] == (i * 7 + 3) % 10);
    for (std::size_t i = 0; i < pixels.size(); ++i)
        REQUIRE(d.images()[static_cast<index_t>(i)] == static_cast<float>(pixels[i]) / 255.0f);
}

}  // namespace

TEST_CASE("load_mnist reads raw files into [N, 1, H, W] in [0, 1]", "[data][mnist]") {
    TempDir dir;
    const Bytes train = write_split(dir, "train", 12, 28, 28, "");
    const Bytes test = write_split(dir, "t10k", 5, 4, 3, "");
    check_split(data::load_mnist(dir.str(), data::Split::train), train, 12, 28, 28);
    check_split(data::load_mnist(dir.str(), data::Split::test), test, 5, 4, 3);
    const data::MnistDataset named(dir.str(), data::Split::test);
    CHECK(named.size() == 5);
    // Exact scaling at the ends and in between.
    write_file(dir.file("t10k-images-idx3-ubyte"), idx_file({1, 1, 3}, {0, 51, 255}));
    write_file(dir.file("t10k-labels-idx1-ubyte"), idx_file({1}, {9}));
    const data::Dataset d = data::load_mnist(dir.str(), data::Split::test);
    CHECK(d.images()[0] == 0.0f);
    CHECK(d.images()[1] == Approx(0.2f));
    CHECK(d.images()[2] == 1.0f);
    CHECK(d.labels()[0] == 9);
}

TEST_CASE("load_mnist errors name the files and the values", "[data][mnist]") {
    TempDir dir;
    CHECK_THROWS_AS(data::load_mnist(dir.str(), data::Split::train), IoError);
    CHECK_THROWS_WITH(data::load_mnist(dir.str(), data::Split::train),
                      Contains("train-images-idx3-ubyte") && Contains("train-images-idx3-ubyte.gz"));
    write_split(dir, "train", 6, 2, 2, "");
    const std::string labels = dir.file("train-labels-idx1-ubyte");
    const std::string images = dir.file("train-images-idx3-ubyte");
    // A count mismatch between the files.
    write_file(labels, idx_file({5}, {1, 2, 3, 4, 5}));
    CHECK_THROWS_AS(data::load_mnist(dir.str(), data::Split::train), FormatError);
    CHECK_THROWS_WITH(data::load_mnist(dir.str(), data::Split::train),
                      Contains(images + " has 6 images but " + labels + " has 5 labels"));
    // A label that is not a class.
    write_file(labels, idx_file({6}, {1, 2, 3, 10, 5, 6}));
    CHECK_THROWS_WITH(data::load_mnist(dir.str(), data::Split::train),
                      Contains(labels) && Contains("label 10 of sample 3"));
    write_file(labels, idx_file({6}, {1, 2, 3, 4, 5, 255}));
    CHECK_THROWS_WITH(data::load_mnist(dir.str(), data::Split::train), Contains("label 255 of sample 5"));
    // The two files swapped: the ranks do not match the magic numbers expected.
    write_split(dir, "train", 6, 2, 2, "");
    CHECK_THROWS_WITH(data::load_mnist_files(labels, images),
                      Contains(images) &&
                          Contains("0x00000803 says 3 dimensions; expected 1 (magic number 0x00000801)"));
    // Any IDX error of either file surfaces with its path.
    write_file(images, idx_file({6, 2, 2}, pattern_bytes(23)));
    CHECK_THROWS_WITH(data::load_mnist(dir.str(), data::Split::train), Contains(images) && Contains("truncated"));
}

#ifdef STRATA_HAS_ZLIB
TEST_CASE("load_mnist reads .gz files and prefers the raw file", "[data][mnist][gzip]") {
    TempDir dir;
    const Bytes gz_pixels = write_split(dir, "t10k", 7, 5, 6, ".gz");
    check_split(data::load_mnist(dir.str(), data::Split::test), gz_pixels, 7, 5, 6);
    CHECK(data::find_mnist_files(dir.str(), data::Split::test).images == dir.file("t10k-images-idx3-ubyte.gz"));
    const Bytes raw_pixels = write_split(dir, "t10k", 3, 5, 6, "");
    check_split(data::load_mnist(dir.str(), data::Split::test), raw_pixels, 3, 5, 6);
    // Mixed: raw images, gzip labels.
    std::filesystem::remove(dir.file("t10k-labels-idx1-ubyte"));
    CHECK_THROWS_WITH(data::load_mnist(dir.str(), data::Split::test),
                      Contains("has 3 images but") && Contains("t10k-labels-idx1-ubyte.gz has 7 labels"));
}
#endif

// The real Fashion-MNIST is checked by fashion_mnist_real.cpp, its own ctest entry, which reports SKIPPED
// when the data set is missing.
