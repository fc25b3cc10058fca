#pragma once
/// @file
/// MNIST and Fashion-MNIST (same file format and names): load_mnist() reads a split from a directory holding
/// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each
/// raw or gzip-compressed (`<name>` is tried first, then `<name>.gz`), into a Dataset of [N, 1, 28, 28]
/// float images in [0, 1] (byte / 255) and labels 0..9.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/tensor.hpp"
#include "strata/data/dataset.hpp"
#include "strata/io/file_bytes.hpp"
#include "strata/io/idx.hpp"

namespace strata::data {

/// The two files of one MNIST split.
struct MnistFiles {
    /// Path of the images file (IDX, 3 dimensions).
    std::string images;
    /// Path of the labels file (IDX, 1 dimension).
    std::string labels;
};

/// Finds the files of `split` in `dir`, each as `<name>` or else `<name>.gz`. Throws IoError naming the
/// candidates when one is missing.
/// @throws IoError when a file is missing, naming both candidates.
inline MnistFiles find_mnist_files(const std::string& dir, Split split) {
    const std::string prefix = split == Split::train ? "train" : "t10k";
    return {io::find_file_or_gz(dir, prefix + "-images-idx3-ubyte"),
            io::find_file_or_gz(dir, prefix + "-labels-idx1-ubyte")};
}

/// Reads an images file and a labels file (IDX unsigned bytes, raw or gzip) into a Dataset of [N, 1, H, W]
/// images scaled to [0, 1] and labels.
///
/// Throws FormatError (naming the files and values) on any IDX error (see io::read_idx), when the image and
/// label counts differ, or on a label >= 10; IoError when a file cannot be read.
/// @throws FormatError on any IDX error, a label >= 10 or differing image and label counts, naming the file.
/// @throws IoError when a file cannot be opened or read.
inline Dataset load_mnist_files(const std::string& images_path, const std::string& labels_path) {
    io::IdxArray labels = io::read_idx(labels_path, 1);
    const index_t n = labels.shape[0];
    // Check the label file fully before spending time on the (much larger) images file.
    std::vector<index_t> label_values(labels.data.size());
    for (std::size_t i = 0; i < labels.data.size(); ++i) {
        check<FormatError>(labels.data[i] < ten_classes, labels_path, ": label ", unsigned(labels.data[i]),
                           " of sample ", i, " is not a class 0..9");
        label_values[i] = labels.data[i];
    }
    io::IdxArray images = io::read_idx(images_path, 3);
    check<FormatError>(images.shape[0] == n, images_path, " has ", images.shape[0], " images but ", labels_path,
                       " has ", n, " labels");
    Tensor<float> pixels(Shape{n, 1, images.shape[1], images.shape[2]});
    // x / 255 (correctly rounded, as torchvision's ToTensor), not x * (1 / 255)
    for (std::size_t i = 0; i < images.data.size(); ++i)
        pixels[static_cast<index_t>(i)] = static_cast<float>(images.data[i]) / 255.0f;
    return Dataset(std::move(pixels), std::move(label_values), ten_classes);
}

/// Loads `split` of MNIST or Fashion-MNIST from `dir` (see find_mnist_files and load_mnist_files): 60000
/// (train) or 10000 (test) images [N, 1, 28, 28] in [0, 1]. Throws IoError or FormatError naming the file.
/// @throws IoError when a file is missing or unreadable; FormatError when one is malformed (naming it).
inline Dataset load_mnist(const std::string& dir, Split split) {
    const MnistFiles files = find_mnist_files(dir, split);
    return load_mnist_files(files.images, files.labels);
}

/// A Dataset loaded by load_mnist(dir, split); a convenience for code that prefers a named type.
class MnistDataset : public Dataset {
public:
    /// Loads `split` from `dir`; throws as load_mnist does.
    /// @throws IoError or FormatError as load_mnist().
    MnistDataset(const std::string& dir, Split split) : Dataset(load_mnist(dir, split)) {}
};

}  // namespace strata::data
