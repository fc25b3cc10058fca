/// @file
/// libFuzzer harness for strata::io::read_idx on a gzip-compressed IDX file (a path ending in ".gz", so
/// ByteReader always inflates). The first input byte selects the mode:
///   even: the rest of the input is the .gz file as-is (fuzzes zlib framing, truncation, trailing members);
///   odd:  the rest is an IDX payload that the harness gzips first, so the streaming IDX checks (size claims
///         against deflate's ratio, truncation, trailing bytes) see well-formed gzip.
/// Any strata::Error is an accepted outcome; anything else is a finding.

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

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

/// The gzip stream (one member) of `size` bytes at `data`.
std::vector<std::uint8_t> gzip(const std::uint8_t* data, std::size_t size) {
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
    std::vector<std::uint8_t> out(deflateBound(&z, static_cast<uLong>(size)) + 32);
    z.next_in = const_cast<Bytef*>(data);
    z.avail_in = static_cast<uInt>(size);
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const TempFile file(".idx.gz");
    if (data[0] & 1) {
        const std::vector<std::uint8_t> gz = gzip(data + 1, size - 1);
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
