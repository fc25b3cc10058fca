#pragma once
/// @file
/// gzip compression for the fuzz harness that feeds well-formed gzip to the IDX reader and for the seed-corpus
/// generator.

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace strata_fuzz {

/// The gzip stream (one member) of `size` bytes at `data`, at zlib compression `level`; aborts if zlib fails.
inline std::vector<std::uint8_t> gzip(const std::uint8_t* data, std::size_t size, int level = Z_DEFAULT_COMPRESSION) {
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
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

}  // namespace strata_fuzz
