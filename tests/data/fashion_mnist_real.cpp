// Tests on the real Fashion-MNIST (dataset-fashion-mnist): its own executable, registered as one ctest entry
// that reports SKIPPED (exit code 77, the entry's SKIP_RETURN_CODE) when the data set is not installed or is
// gzip-compressed in a build without zlib. Without the data these tests cannot check anything, so they must not
// pass silently. STRATA_DATA_DIR in the environment overrides the compiled-in directory.

#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "strata/data/mnist.hpp"
#include "strata/io/idx.hpp"

using namespace strata;

namespace {

constexpr int kSkipped = 77;

std::string data_dir() {
    const char* env = std::getenv("STRATA_DATA_DIR");
    return env != nullptr && *env != '\0' ? env : STRATA_DATA_DIR;
}

/// Why the splits in `dir` cannot be read by this build, or "" when they can.
std::string why_unreadable(const std::string& dir) {
    for (const data::Split split : {data::Split::train, data::Split::test}) {
        data::MnistFiles files;
        try {
            files = data::find_mnist_files(dir, split);
        } catch (const IoError& e) {
            return std::string("Fashion-MNIST not found: ") + e.what();
        }
        for (const std::string& f : {files.images, files.labels})
            if (!io::has_zlib && f.size() > 3 && f.compare(f.size() - 3, 3, ".gz") == 0)
                return "strata was built without zlib and cannot read " + f;
    }
    return "";
}

}  // namespace

TEST_CASE("the real Fashion-MNIST test split: 10000 images, 1000 of each class", "[data][mnist][real]") {
    const data::Dataset test = data::load_mnist(data_dir(), data::Split::test);
    CHECK(test.images().shape() == Shape{10000, 1, 28, 28});
    CHECK(test.class_counts() == std::vector<index_t>(10, 1000));
    CHECK(test.images().array().minCoeff() == 0.0f);
    CHECK(test.images().array().maxCoeff() == 1.0f);
}

TEST_CASE("the Fashion-MNIST mean and std constants match the real training split", "[data][mnist][real]") {
    const io::IdxArray train = io::read_idx(data::find_mnist_files(data_dir(), data::Split::train).images, 3);
    REQUIRE(train.shape == Shape{60000, 28, 28});
    double sum = 0, sum_sq = 0;
    for (std::uint8_t b : train.data) {
        const double v = b / 255.0;
        sum += v;
        sum_sq += v * v;
    }
    const double n = static_cast<double>(train.data.size());
    const double mean = sum / n, stddev = std::sqrt(sum_sq / n - mean * mean);
    CHECK(mean == Approx(data::fashion_mnist_mean).margin(5e-5));
    CHECK(stddev == Approx(data::fashion_mnist_std).margin(5e-5));
}

int main(int argc, char** argv) {
    const std::string reason = why_unreadable(data_dir());
    if (!reason.empty()) {
        std::printf("SKIPPED: %s\n", reason.c_str());
        return kSkipped;
    }
    const int failed = Catch::Session().run(argc, argv);
    return failed == kSkipped ? 1 : failed;  // Catch returns the failure count: never let it read as "skipped"
}
