#pragma once
// Helpers for the data and IDX tests: a temporary directory, writing byte files raw or gzip-compressed (with
// zlib's gzopen, when strata has zlib), and building IDX files byte by byte.

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "strata/core/error.hpp"
#include "support/temp_dir.hpp"

#ifdef STRATA_HAS_ZLIB
#include <zlib.h>
#endif

namespace strata::test {

using Bytes = std::vector<std::uint8_t>;

/// Writes `bytes` to `path` as they are.
inline void write_bytes(const std::string& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    check<IoError>(static_cast<bool>(out), "test: cannot create ", path);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    check<IoError>(static_cast<bool>(out), "test: cannot write ", path);
}

/// The bytes of the file at `path`.
inline Bytes read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    check<IoError>(static_cast<bool>(in), "test: cannot open ", path);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

#ifdef STRATA_HAS_ZLIB
/// Writes `bytes` gzip-compressed to `path` with zlib's gzopen/gzwrite; returns the compressed file's bytes.
inline Bytes write_gz(const std::string& path, const Bytes& bytes) {
    gzFile gz = gzopen(path.c_str(), "wb9");
    check<IoError>(gz != nullptr, "test: gzopen failed for ", path);
    const int written = bytes.empty() ? 0 : gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
    const int closed = gzclose(gz);
    check<IoError>(written == static_cast<int>(bytes.size()) && closed == Z_OK, "test: gzwrite failed for ", path);
    return read_bytes(path);
}
#endif

/// Writes `bytes` to `path`, gzip-compressed if the name ends in ".gz" (which needs zlib).
inline void write_file(const std::string& path, const Bytes& bytes) {
    if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
#ifdef STRATA_HAS_ZLIB
        write_gz(path, bytes);
        return;
#else
        throw IoError("test: writing " + path + " needs zlib");
#endif
    }
    write_bytes(path, bytes);
}

/// Appends `v` as 4 big-endian bytes.
inline void put_be32(Bytes& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

/// An IDX file: magic 0x0000<type><dims.size()>, the dimensions, then `data`.
inline Bytes idx_file(const std::vector<std::uint32_t>& dims, const Bytes& data, std::uint8_t type = 0x08) {
    Bytes out = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
    for (auto d : dims) put_be32(out, d);
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

/// `n` deterministic pseudo-random bytes (values below `bound`).
inline Bytes pattern_bytes(std::size_t n, unsigned bound = 256, unsigned salt = 0) {
    Bytes out(n);
    std::uint32_t x = 2463534242u + salt;
    for (auto& b : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = static_cast<std::uint8_t>(x % bound);
    }
    return out;
}

}  // namespace strata::test
