#pragma once
/// @file
/// Reader for the IDX format of MNIST and Fashion-MNIST (raw or gzip-compressed): a 4-byte big-endian magic
/// number 0x0000TTNN (TT the element type code, NN the number of dimensions), NN big-endian uint32 dimensions,
/// then the elements in row-major order. strata reads unsigned-byte files (type code 0x08).
///
/// Everything is validated before the data is allocated: the magic, the type code, the rank, and the size the
/// header claims against the file's length (exactly, for a raw file; against deflate's maximum ratio, then
/// while streaming with a cap, for gzip). Every error names the file and the offending values.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/shape.hpp"
#include "strata/io/file_bytes.hpp"

namespace strata::io {

/// IDX type code of unsigned bytes, the only element type strata reads.
inline constexpr std::uint8_t idx_type_ubyte = 0x08;
/// Magic number of an unsigned-byte IDX file with 3 dimensions (MNIST images: N x rows x cols).
inline constexpr std::uint32_t idx_images_magic = 0x00000803;
/// Magic number of an unsigned-byte IDX file with 1 dimension (MNIST labels: N).
inline constexpr std::uint32_t idx_labels_magic = 0x00000801;

/// The contents of an IDX file: its dimensions and its elements in row-major order.
struct IdxArray {
    /// The dimensions from the header, e.g. [60000, 28, 28].
    Shape shape;
    /// shape.numel() unsigned bytes.
    std::vector<std::uint8_t> data;
};

namespace detail {

/// "0x00000803".
inline std::string hex32(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(v));
    return buf;
}

/// "0x08".
inline std::string hex8(unsigned v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", v & 0xffu);
    return buf;
}

/// The name of an IDX type code.
inline const char* idx_type_name(unsigned code) {
    switch (code) {
        case 0x08: return "unsigned byte";
        case 0x09: return "signed byte";
        case 0x0B: return "int16";
        case 0x0C: return "int32";
        case 0x0D: return "float32";
        case 0x0E: return "float64";
        default: return "not a type the IDX format defines";
    }
}

inline std::uint32_t big_endian32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace detail

/// Reads the IDX file at `path` (raw, or gzip when the name ends in ".gz" or the file starts with the gzip
/// magic). `expected_rank` (1 to Shape::max_rank, or 0 for any) is the number of dimensions the caller needs.
///
/// Throws FormatError naming the file and the values on: a magic number that does not start with two zero
/// bytes; a type code other than 0x08; 0 or more than Shape::max_rank dimensions, or not `expected_rank`; a
/// header cut short; a data size (product of the dimensions) that differs from what the file holds — truncated
/// or with trailing bytes; a truncated or corrupt gzip stream. Throws IoError if the file cannot be read, or is
/// gzip and strata was built without zlib.
/// @throws FormatError for every malformed input above, naming the file and the values.
/// @throws IoError when the file cannot be opened or read, or is gzip and strata has no zlib.
inline IdxArray read_idx(const std::string& path, int expected_rank = 0) {
    using strata::detail::concat;
    ByteReader reader(path);
    const char* file_word = reader.compressed() ? "the decompressed file" : "the file";

    std::uint8_t magic_bytes[4];
    std::size_t got = reader.read(magic_bytes, 4);
    check<FormatError>(got == 4, path, ": truncated: ", file_word, " ends after ", got,
                       " bytes, inside the 4-byte IDX magic number");
    const std::uint32_t magic = detail::big_endian32(magic_bytes);
    const unsigned type = magic_bytes[2];
    const int rank = magic_bytes[3];
    const std::string expected_magic =
        expected_rank > 0 ? concat(" (expected ", detail::hex32(0x0800u | unsigned(expected_rank)), ")") : "";
    check<FormatError>(magic_bytes[0] == 0 && magic_bytes[1] == 0, path, ": not an IDX file: magic number ",
                       detail::hex32(magic), " does not start with two zero bytes", expected_magic);
    check<FormatError>(type == idx_type_ubyte, path, ": IDX type code ", detail::hex8(type), " (",
                       detail::idx_type_name(type), ") in magic number ", detail::hex32(magic),
                       " is not supported; strata reads only type 0x08 (unsigned byte)");
    check<FormatError>(rank >= 1 && rank <= Shape::max_rank, path, ": IDX magic number ", detail::hex32(magic),
                       " says ", rank, " dimensions; strata reads 1 to ", Shape::max_rank);
    check<FormatError>(expected_rank <= 0 || rank == expected_rank, path, ": IDX magic number ",
                       detail::hex32(magic), " says ", rank, " dimension", rank == 1 ? "" : "s", "; expected ",
                       expected_rank, " (magic number ", detail::hex32(0x0800u | unsigned(expected_rank)), ")");

    const std::size_t header_bytes = 4 + 4 * static_cast<std::size_t>(rank);
    std::uint8_t dim_bytes[4 * Shape::max_rank];
    got = reader.read(dim_bytes, 4 * static_cast<std::size_t>(rank));
    check<FormatError>(got == 4 * static_cast<std::size_t>(rank), path, ": truncated: ", file_word, " ends after ",
                       4 + got, " bytes, inside the ", header_bytes, "-byte IDX header");

    std::vector<index_t> dims;
    std::string dims_text;
    std::uint64_t expected = 1;
    bool overflow = false;
    for (int i = 0; i < rank; ++i) {
        const std::uint32_t d = detail::big_endian32(dim_bytes + 4 * i);
        dims.push_back(static_cast<index_t>(d));
        dims_text += (i ? " x " : "") + std::to_string(d);
        if (d != 0 && expected > (std::uint64_t{1} << 62) / d) overflow = true;
        expected *= d;
    }
    check<FormatError>(!overflow, path, ": IDX header dimensions ", dims_text, " overflow a 64-bit size");
    const std::string claim = concat(path, ": header says ", dims_text, " = ", expected, " bytes of data but ");

    if (auto size = reader.exact_size()) {
        const std::uint64_t have = *size - header_bytes;
        check<FormatError>(have >= expected, path, ": truncated: header says ", dims_text, " = ", expected,
                           " bytes of data but the file has ", have, " after its ", header_bytes, "-byte header");
        check<FormatError>(have == expected, claim, "the file has ", have, " after its ", header_bytes,
                           "-byte header (", have - expected, " trailing bytes)");
    } else {
        const std::uint64_t most = reader.max_size() - std::min<std::uint64_t>(reader.max_size(), header_bytes);
        check<FormatError>(expected <= most, claim, "a gzip file of ", reader.file_size(),
                           " bytes decompresses to at most ", most, " after the header");
    }

    IdxArray out{Shape(dims.begin(), dims.end()), {}};
    // For gzip, memory grows with the data actually decompressed, never straight to the header's claim.
    const std::uint64_t chunk = std::uint64_t{1} << 22;
    if (reader.compressed())
        out.data.reserve(static_cast<std::size_t>(std::min(expected, 16 * reader.file_size() + chunk)));
    while (out.data.size() < expected) {
        const std::size_t old = out.data.size();
        out.data.resize(old + static_cast<std::size_t>(std::min(chunk, expected - old)));
        got = reader.read(out.data.data() + old, out.data.size() - old);
        if (old + got < out.data.size()) {
            check<IoError>(reader.compressed(), path, ": file shrank while reading (", old + got, " of ", expected,
                           " data bytes)");
            throw FormatError(concat(path, ": truncated: header says ", dims_text, " = ", expected,
                                     " bytes of data but ", file_word, " has ", old + got, " after its ",
                                     header_bytes, "-byte header"));
        }
    }
    if (!reader.at_end()) {
        const std::uint64_t cap = std::uint64_t{1} << 26;
        const std::uint64_t extra = reader.skip(cap);
        throw FormatError(concat(claim, file_word, " has ", extra >= cap ? "more than " : "", expected + extra,
                                 " after its ", header_bytes, "-byte header (", extra >= cap ? "more than " : "",
                                 extra, " trailing bytes)"));
    }
    return out;
}

}  // namespace strata::io
