/// @file
/// libFuzzer harness for strata::io::read_idx on a gzip-compressed IDX file (a path ending in ".gz", so
/// ByteReader always inflates). The first input byte selects the mode:
///   even: the rest of the input is the .gz file as-is (fuzzes zlib framing, truncation, trailing members);
///   odd:  the rest is an IDX payload that the harness gzips first, so the streaming IDX checks (size claims
///         against deflate's ratio, truncation, trailing bytes) see well-formed gzip.
/// Any strata::Error is an accepted outcome; anything else is a finding.

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "strata/io/idx.hpp"
#include "gzip.hpp"
#include "temp_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const strata_fuzz::TempFile file(".idx.gz");
    if (data[0] & 1) {
        const std::vector<std::uint8_t> gz = strata_fuzz::gzip(data + 1, size - 1);
        file.write(gz.data(), gz.size());
    } else {
        file.write(data + 1, size - 1);
    }
    try {
        const strata::io::IdxArray a = strata::io::read_idx(file.path, 0);
        if (static_cast<std::uint64_t>(a.shape.numel()) != a.data.size()) std::abort();
    } catch (const strata::Error&) {
    }
    return 0;
}
