/// @file
/// libFuzzer harness for strata::io::read_idx on a raw (uncompressed) IDX file. read_idx only takes a path, so
/// the input is written to a per-process temporary file first. Any strata::Error is an accepted outcome;
/// a crash, a sanitizer report, a timeout or another exception is a finding.

#include <cstdint>
#include <cstdlib>

#include "strata/io/idx.hpp"
#include "temp_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const strata_fuzz::TempFile file(".idx");
    file.write(data, size);
    try {
        const strata::io::IdxArray a = strata::io::read_idx(file.path, 0);
        // A successful read must hold exactly the elements its shape claims.
        if (static_cast<std::uint64_t>(a.shape.numel()) != a.data.size()) std::abort();
    } catch (const strata::Error&) {
    }
    return 0;
}
