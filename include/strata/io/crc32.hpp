#pragma once
/// @file
/// CRC-32 (the IEEE 802.3 / zip / gzip / PNG polynomial, reflected 0xEDB88320, initial value and final xor
/// 0xFFFFFFFF; crc32("123456789") == 0xCBF43926), table driven and independent of zlib, and the little-endian
/// integer encoding that strata's binary formats (checkpoints, zip, npy) share.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "strata/core/error.hpp"

namespace strata::io {

namespace detail {

/// The 256-entry table of the reflected polynomial 0xEDB88320, built at compile time.
inline constexpr std::array<std::uint32_t, 256> crc32_table = [] {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    return table;
}();

}  // namespace detail

/// CRC-32 of `n` bytes at `data`, continuing from `crc` (the CRC of the preceding bytes; 0 to start), so that
/// crc32(b, nb, crc32(a, na)) == CRC of a followed by b. Same values as zlib's crc32().
inline std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc = 0) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    std::uint32_t c = ~crc;
    for (std::size_t i = 0; i < n; ++i) c = detail::crc32_table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
    return ~c;
}

namespace detail {

/// "0x" and 8 hex digits.
inline std::string checksum_hex(std::uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    std::string s = "0x";
    for (int shift = 28; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xFu];
    return s;
}

/// Appends the `bytes` low bytes of `v` to `out`, least significant first.
inline void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

/// The unsigned little-endian integer of `bytes` bytes at `p`.
inline std::uint64_t get_le(const std::uint8_t* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t{p[i]} << (8 * i);
    return v;
}

/// Whether the host stores integers and floats least significant byte first.
inline bool host_is_little_endian() {
    const std::uint32_t one = 1;
    unsigned char first = 0;
    std::memcpy(&first, &one, 1);
    return first == 1;
}

/// Converts `count` elements of `size` bytes at `data` between host and little-endian order, in place (a no-op
/// on little-endian hosts; a byte swap of each element otherwise).
inline void host_to_le_inplace(std::uint8_t* data, std::size_t count, std::size_t size) {
    if (host_is_little_endian() || size == 1) return;
    for (std::size_t i = 0; i < count; ++i)
        for (std::size_t a = 0, b = size - 1; a < b; ++a, --b) std::swap(data[i * size + a], data[i * size + b]);
}

/// A bounds-checked little-endian reader over a byte range; every read that would run past the end throws
/// FormatError naming `source`, the offset and what was being read.
class LeCursor {
public:
    /// A cursor at offset 0 of `size` bytes at `data`; `source` names them in errors (a path).
    LeCursor(const std::uint8_t* data, std::size_t size, std::string source)
        : data_(data), size_(size), source_(std::move(source)) {}

    /// Bytes left after the current position.
    std::size_t remaining() const { return size_ - pos_; }
    /// The current offset.
    std::size_t offset() const { return pos_; }
    /// The name used in errors.
    const std::string& source() const { return source_; }

    /// Throws FormatError unless `n` more bytes remain, saying `what` needed them.
    void require(std::uint64_t n, const std::string& what) const {
        check<FormatError>(n <= remaining(), source_, ": truncated: ", what, " needs ", n, " bytes at offset ", pos_,
                           " but only ", remaining(), " remain");
    }
    /// Reads an unsigned little-endian integer of `bytes` bytes (1..8).
    std::uint64_t uint(int bytes, const std::string& what) {
        require(static_cast<std::uint64_t>(bytes), what);
        const std::uint64_t v = get_le(data_ + pos_, bytes);
        pos_ += static_cast<std::size_t>(bytes);
        return v;
    }
    /// A pointer to the next `n` bytes, which the cursor skips.
    const std::uint8_t* take(std::uint64_t n, const std::string& what) {
        require(n, what);
        const std::uint8_t* p = data_ + pos_;
        pos_ += static_cast<std::size_t>(n);
        return p;
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
    std::string source_;
};

}  // namespace detail

}  // namespace strata::io
