/// @file
/// libFuzzer harness for strata::data::load_cifar10_batch (read_file_bytes, then the record and label checks).
/// The loader only takes a path, so the input is written to a per-process temporary file first; an input that
/// starts with the gzip magic 1f 8b is read through zlib. Any strata::Error is an accepted outcome; anything
/// else is a finding.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "strata/data/cifar10.hpp"

namespace {

/// A temporary file under /tmp named after the process id, removed at exit.
struct TempFile {
    std::string path;
    explicit TempFile(const char* suffix)
        : path("/tmp/strata_fuzz_" + std::to_string(::getpid()) + suffix) {}
    ~TempFile() { std::remove(path.c_str()); }
    void write(const std::uint8_t* data, std::size_t size) const {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        if (!f || (size > 0 && std::fwrite(data, 1, size, f) != size)) std::abort();
        std::fclose(f);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const TempFile file(".bin");
    file.write(data, size);
    try {
        const strata::data::Dataset d = strata::data::load_cifar10_batch(file.path);
        (void)d;
    } catch (const strata::Error&) {
    }
    return 0;
}
