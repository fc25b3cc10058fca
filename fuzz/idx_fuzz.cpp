/// @file
/// libFuzzer harness for strata::io::read_idx on a raw (uncompressed) IDX file. read_idx only takes a path, so
/// the input is written to a per-process temporary file first. Any strata::Error is an accepted outcome;
/// a crash, a sanitizer report, a timeout or another exception is a finding.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "strata/io/idx.hpp"

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
    static const TempFile file(".idx");
    file.write(data, size);
    try {
        const strata::io::IdxArray a = strata::io::read_idx(file.path, 0);
        // A successful read must hold exactly the elements its shape claims.
        if (static_cast<std::uint64_t>(a.shape.numel()) != a.data.size()) std::abort();
    } catch (const strata::Error&) {
    }
    return 0;
}
