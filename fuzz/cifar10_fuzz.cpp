/// @file
/// libFuzzer harness for strata::data::load_cifar10_batch (read_file_bytes, then the record and label checks).
/// The loader only takes a path, so the input is written to a per-process temporary file first; an input that
/// starts with the gzip magic 1f 8b is read through zlib. Any strata::Error is an accepted outcome; anything
/// else is a finding.

#include <cstdint>
#include <cstdlib>

#include "strata/data/cifar10.hpp"
#include "temp_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const strata_fuzz::TempFile file(".bin");
    file.write(data, size);
    try {
        const strata::data::Dataset d = strata::data::load_cifar10_batch(file.path);
        (void)d;
    } catch (const strata::Error&) {
    }
    return 0;
}
