#pragma once
/// @file
/// load_train_data(): the training and test splits of an MNIST-format folder for a TrainConfig, limited to
/// config.limit / config.test_limit images and normalised per config.normalize ("auto": the pixel mean and
/// standard deviation of the whole training split; "fashion"/"mnist": the published constants; "none").

#include <cmath>
#include <filesystem>
#include <string>
#include <utility>

#include "strata/data/mnist.hpp"
#include "config.hpp"

namespace strata::train {

/// The mean and (population) standard deviation of every pixel of `d`, accumulated in double. Throws
/// ArgumentError on an empty dataset.
inline std::pair<float, float> pixel_stats(const data::Dataset& d) {
    const index_t n = d.images().numel();
    check<ArgumentError>(n > 0, "pixel_stats: the dataset is empty");
    const float* p = d.images().data();
    double sum = 0;
    for (index_t i = 0; i < n; ++i) sum += p[i];
    const double mean = sum / static_cast<double>(n);
    double sq = 0;
    for (index_t i = 0; i < n; ++i) sq += (p[i] - mean) * (p[i] - mean);
    return {static_cast<float>(mean), static_cast<float>(std::sqrt(sq / static_cast<double>(n)))};
}

/// The two splits a training run uses, and the normalisation applied to both.
struct TrainData {
    data::Dataset train;
    data::Dataset test;
    float mean = 0, std = 1;  ///< (x - mean) / std was applied (0 and 1 for "none")
};

/// Loads config.data_dir's splits (see the file comment). Throws IoError when the folder does not exist or a
/// file is missing or unreadable, FormatError on a malformed file, ArgumentError on a bad normalisation name or
/// a constant standard deviation.
inline TrainData load_train_data(const TrainConfig& config) {
    std::error_code ec;
    check<IoError>(std::filesystem::is_directory(config.data_dir, ec), "data directory '", config.data_dir,
                   "' does not exist or is not a directory (--data names a folder with the MNIST-format files "
                   "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,"
                   " each optionally .gz)");
    TrainData out;
    out.train = data::load_mnist(config.data_dir, data::Split::train);
    out.test = data::load_mnist(config.data_dir, data::Split::test);
    if (config.normalize == "auto") {
        const auto stats = pixel_stats(out.train);
        out.mean = stats.first;
        out.std = stats.second;
    } else if (config.normalize == "fashion") {
        out.mean = data::fashion_mnist_mean;
        out.std = data::fashion_mnist_std;
    } else if (config.normalize == "mnist") {
        out.mean = data::mnist_mean;
        out.std = data::mnist_std;
    } else {
        check<ArgumentError>(config.normalize == "none", "--normalize: unknown value '", config.normalize,
                             "'; valid: ", detail::joined(normalize_names()));
    }
    if (config.limit > 0 && config.limit < out.train.size()) out.train = out.train.head(config.limit);
    if (config.test_limit > 0 && config.test_limit < out.test.size()) out.test = out.test.head(config.test_limit);
    check<ArgumentError>(out.std > 0, "the training images of ", config.data_dir,
                         " all have the same value; they cannot be normalised (use --normalize none)");
    if (config.normalize != "none") {
        out.train.normalize(out.mean, out.std);
        out.test.normalize(out.mean, out.std);
    }
    return out;
}

}  // namespace strata::train
