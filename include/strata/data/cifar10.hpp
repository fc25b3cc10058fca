#pragma once
/// @file
/// CIFAR-10, binary version (cifar-10-batches-bin): files data_batch_1.bin ... data_batch_5.bin (train) and
/// test_batch.bin (test), each a sequence of 3073-byte records: 1 label byte (0..9), then 3072 pixel bytes,
/// the 32 x 32 red plane, then green, then blue, each row-major. Read into a Dataset of [N, 3, 32, 32] float
/// images in [0, 1] (byte / 255). Files may be gzip-compressed (`<name>` is tried first, then `<name>.gz`).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/tensor.hpp"
#include "strata/data/dataset.hpp"
#include "strata/io/file_bytes.hpp"

namespace strata::data {

/// Bytes of one CIFAR-10 record: 1 label byte and 3 x 32 x 32 pixel bytes.
inline constexpr index_t cifar10_record_bytes = 1 + 3 * 32 * 32;
/// The largest CIFAR-10 file strata reads (a batch file holds 10000 records, 30730000 bytes).
inline constexpr std::uint64_t cifar10_max_file_bytes = std::uint64_t{1} << 31;

namespace detail {

/// The validated bytes of one CIFAR-10 file: a positive multiple of the record size, labels 0..9.
inline std::vector<std::uint8_t> read_cifar10_bytes(const std::string& path) {
    std::vector<std::uint8_t> bytes = io::read_file_bytes(path, cifar10_max_file_bytes);
    const auto size = static_cast<index_t>(bytes.size());
    check<FormatError>(size > 0, path, ": CIFAR-10 file is empty");
    const index_t records = size / cifar10_record_bytes, extra = size % cifar10_record_bytes;
    check<FormatError>(extra == 0, path, ": CIFAR-10 file has ", size, " bytes, not a multiple of the ",
                       cifar10_record_bytes, "-byte record (", records, " records and ", extra,
                       extra == 1 ? " extra byte)" : " extra bytes)");
    for (index_t r = 0; r < records; ++r) {
        const unsigned label = bytes[static_cast<std::size_t>(r * cifar10_record_bytes)];
        check<FormatError>(label < ten_classes, path, ": record ", r, " (byte offset ", r * cifar10_record_bytes,
                           ") has label ", label, "; CIFAR-10 labels are 0..9");
    }
    return bytes;
}

}  // namespace detail

/// Reads CIFAR-10 binary files (raw or gzip) and concatenates their records in order into a Dataset of
/// [N, 3, 32, 32] images in [0, 1]. Throws FormatError naming the file when a file is empty, its length is not
/// a multiple of 3073, or a label is >= 10; IoError when a file cannot be read.
/// @throws FormatError when a file is empty, over 2 GiB, not a multiple of 3073 bytes or has a label >= 10,
/// or its gzip stream is truncated or corrupt, naming the file.
/// @throws IoError when a file cannot be opened or read.
inline Dataset load_cifar10_files(const std::vector<std::string>& paths) {
    std::vector<std::vector<std::uint8_t>> files;
    index_t n = 0;
    for (const auto& path : paths) {
        files.push_back(detail::read_cifar10_bytes(path));
        n += static_cast<index_t>(files.back().size()) / cifar10_record_bytes;
    }
    constexpr index_t pixels = cifar10_record_bytes - 1;
    Tensor<float> images(Shape{n, 3, 32, 32});
    std::vector<index_t> labels;
    labels.reserve(static_cast<std::size_t>(n));
    float* out = images.data();
    for (const auto& bytes : files)
        for (std::size_t r = 0; r < bytes.size(); r += cifar10_record_bytes) {
            labels.push_back(bytes[r]);
            // x / 255 (correctly rounded, as torchvision's ToTensor), not x * (1 / 255)
            for (index_t j = 0; j < pixels; ++j)
                *out++ = static_cast<float>(bytes[r + 1 + static_cast<std::size_t>(j)]) / 255.0f;
        }
    return Dataset(std::move(images), std::move(labels), ten_classes);
}

/// Reads one CIFAR-10 binary file; see load_cifar10_files.
/// @throws FormatError or IoError as load_cifar10_files().
inline Dataset load_cifar10_batch(const std::string& path) { return load_cifar10_files({path}); }

/// The files of `split` in `dir` (data_batch_1..5.bin, or test_batch.bin; each raw or .gz). Throws IoError
/// naming the candidates when one is missing.
/// @throws IoError when a file is missing, naming both candidates.
inline std::vector<std::string> find_cifar10_files(const std::string& dir, Split split) {
    if (split == Split::test) return {io::find_file_or_gz(dir, "test_batch.bin")};
    std::vector<std::string> paths;
    for (int i = 1; i <= 5; ++i)
        paths.push_back(io::find_file_or_gz(dir, "data_batch_" + std::to_string(i) + ".bin"));
    return paths;
}

/// Loads `split` of CIFAR-10 from `dir` (the cifar-10-batches-bin directory): 50000 (train) or 10000 (test)
/// images [N, 3, 32, 32] in [0, 1]. Throws as load_cifar10_files and find_cifar10_files do.
/// @throws IoError when a file is missing or unreadable; FormatError when one is malformed (naming it).
inline Dataset load_cifar10(const std::string& dir, Split split) {
    return load_cifar10_files(find_cifar10_files(dir, split));
}

}  // namespace strata::data
