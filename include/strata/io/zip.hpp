#pragma once
/// @file
/// A small zip reader and writer, enough for NumPy's .npz files: members stored (method 0) or, when strata is
/// built with zlib (STRATA_HAS_ZLIB), deflated (method 8). Not supported, each with a FormatError saying so:
/// zip64 archives (more than 65535 members or 4 GiB; zip64 *extra fields* in local headers, which NumPy always
/// writes, are fine), multi-disk archives, encryption, other compression methods. Without zlib, a deflated
/// member is an IoError saying that strata was built without zlib.
///
/// read_zip validates the end-of-central-directory record, every central and local header and every size
/// against the archive's length before it allocates, and each member's CRC-32 after extracting it.

#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/io/atomic_file.hpp"
#include "strata/io/crc32.hpp"

#ifdef STRATA_HAS_ZLIB
#include <zlib.h>
#endif

namespace strata::io {

/// Whether this build reads and writes deflated zip members (true when built with zlib).
#ifdef STRATA_HAS_ZLIB
inline constexpr bool zip_supports_deflate = true;
#else
inline constexpr bool zip_supports_deflate = false;
#endif

/// One member of a zip archive: its name and uncompressed bytes.
struct ZipEntry {
    std::string name;
    std::vector<std::uint8_t> data;
};

namespace detail {

inline constexpr std::uint32_t zip_local_sig = 0x04034b50, zip_central_sig = 0x02014b50, zip_end_sig = 0x06054b50,
                               zip64_locator_sig = 0x07064b50;
/// Upper bound of deflate's compression ratio, to refuse absurd uncompressed sizes before allocating.
inline constexpr std::uint64_t zip_max_ratio = 1032;

/// Inflates the raw deflate stream `src` into exactly `out.size()` bytes; FormatError when corrupt or of
/// another size.
inline void zip_inflate(const std::uint8_t* src, std::size_t n, std::vector<std::uint8_t>& out,
                        const std::string& where) {
#ifdef STRATA_HAS_ZLIB
    z_stream z{};
    if (inflateInit2(&z, -15) != Z_OK) throw std::bad_alloc();
    std::uint8_t dummy = 0;
    z.next_in = const_cast<Bytef*>(src);
    z.avail_in = static_cast<uInt>(n);
    z.next_out = out.empty() ? &dummy : out.data();
    z.avail_out = static_cast<uInt>(out.empty() ? 1 : out.size());
    const int rc = inflate(&z, Z_FINISH);
    const std::uint64_t produced = z.total_out;
    const std::string msg = z.msg ? z.msg : "";
    inflateEnd(&z);
    if (rc == Z_STREAM_END && produced == out.size()) return;
    const std::string declared = std::to_string(out.size());
    throw FormatError(where + ": corrupt deflate data (" +
                      (rc == Z_STREAM_END ? "it decompresses to " + std::to_string(produced) +
                                                " bytes, the header says " + declared
                       : rc == Z_BUF_ERROR ? "the stream is truncated or larger than the declared " + declared + " bytes"
                                           : "zlib: " + (msg.empty() ? std::to_string(rc) : msg)) +
                      ")");
#else
    (void)src, (void)n, (void)out;
    throw IoError(where + " is deflate-compressed, but strata was built without zlib; rebuild with zlib "
                          "(STRATA_USE_ZLIB=ON) or save the file uncompressed (np.savez instead of "
                          "np.savez_compressed)");
#endif
}

#ifdef STRATA_HAS_ZLIB
/// The raw deflate stream of `data`.
inline std::vector<std::uint8_t> zip_deflate(const std::vector<std::uint8_t>& data) {
    z_stream z{};
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::bad_alloc();
    std::vector<std::uint8_t> out(deflateBound(&z, static_cast<uLong>(data.size())) + 16);
    z.next_in = const_cast<Bytef*>(data.data());
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    check<IoError>(rc == Z_STREAM_END, "zip: deflate failed (zlib code ", rc, ")");
    return out;
}
#endif

}  // namespace detail

/// The members of the zip archive in `data` (`size` bytes), in central-directory order, decompressed and
/// CRC-checked. Throws FormatError naming `source` and the member for anything malformed or unsupported (see
/// the file comment), IoError for a deflated member without zlib.
/// @throws FormatError for a malformed or unsupported archive or member, or a CRC mismatch, naming `source`.
/// @throws IoError for a deflated member when strata has no zlib.
inline std::vector<ZipEntry> read_zip(const std::uint8_t* data, std::size_t size, const std::string& source) {
    using detail::get_le;
    auto fail = [&](auto&&... args) { throw FormatError(strata::detail::concat(source, ": ", args...)); };
    // The end-of-central-directory record: 22 bytes + a comment that must reach the end of the file exactly.
    std::size_t eocd = size + 1;
    for (std::size_t back = 22; back <= size && back <= 22 + 65535; ++back) {
        const std::size_t at = size - back;
        if (get_le(data + at, 4) == detail::zip_end_sig && at + 22 + get_le(data + at + 20, 2) == size) {
            eocd = at;
            break;
        }
    }
    if (eocd > size) fail("not a zip archive, or a truncated one (no end-of-central-directory record)");
    const std::uint64_t disk = get_le(data + eocd + 4, 2), cd_disk = get_le(data + eocd + 6, 2);
    const std::uint64_t count_here = get_le(data + eocd + 8, 2), count = get_le(data + eocd + 10, 2);
    const std::uint64_t cd_size = get_le(data + eocd + 12, 4), cd_offset = get_le(data + eocd + 16, 4);
    if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF ||
        (eocd >= 20 && get_le(data + eocd - 20, 4) == detail::zip64_locator_sig))
        fail("zip64 archives are not supported (more than 65535 members or 4 GiB)");
    if (disk != 0 || cd_disk != 0 || count_here != count) fail("multi-disk zip archives are not supported");
    if (cd_offset > eocd || cd_size > eocd - cd_offset)
        fail("the central directory (", cd_size, " bytes at offset ", cd_offset, ") lies outside the archive's ",
             eocd, " bytes before its end record; the file is truncated or corrupt");
    if (count > cd_size / 46) fail(count, " members cannot fit in a central directory of ", cd_size, " bytes");

    detail::LeCursor cd(data + cd_offset, static_cast<std::size_t>(cd_size), source + " (central directory)");
    std::vector<ZipEntry> out;
    out.reserve(static_cast<std::size_t>(count));
    std::unordered_set<std::string> seen;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint8_t* h = cd.take(46, "central header " + std::to_string(i));
        if (get_le(h, 4) != detail::zip_central_sig) fail("bad central directory header signature for member ", i);
        const std::uint64_t flags = get_le(h + 8, 2), method = get_le(h + 10, 2), crc = get_le(h + 16, 4);
        const std::uint64_t csize = get_le(h + 20, 4), usize = get_le(h + 24, 4), offset = get_le(h + 42, 4);
        const std::uint64_t nlen = get_le(h + 28, 2), skip = get_le(h + 30, 2) + get_le(h + 32, 2);
        ZipEntry e;
        const std::uint8_t* name = cd.take(nlen, "name of member " + std::to_string(i));
        e.name.assign(reinterpret_cast<const char*>(name), static_cast<std::size_t>(nlen));
        cd.take(skip, "extra field and comment of member '" + e.name + "'");
        const std::string where = "member '" + e.name + "' of " + source;
        if (e.name.empty() || !seen.insert(e.name).second) fail("empty or duplicate member name '", e.name, "'");
        if (csize == 0xFFFFFFFF || usize == 0xFFFFFFFF || offset == 0xFFFFFFFF)
            fail("member '", e.name, "' needs zip64, which is not supported");
        if (flags & 1u) fail("member '", e.name, "' is encrypted, which is not supported");
        if (method != 0 && method != 8)
            fail("member '", e.name, "' uses compression method ", method,
                 "; only stored (0) and deflate (8) are supported");
        if (method == 0 && csize != usize)
            fail("stored member '", e.name, "' has compressed size ", csize, " but size ", usize);
        // The local header: 30 bytes, the same name, then the data; all before the central directory.
        if (offset > cd_offset || cd_offset - offset < 30)
            fail("member '", e.name, "': local header offset ", offset, " is outside the archive's data");
        const std::uint8_t* l = data + offset;
        if (get_le(l, 4) != detail::zip_local_sig)
            fail("bad local header signature for member '", e.name, "' at offset ", offset);
        const std::uint64_t lnlen = get_le(l + 26, 2), lxlen = get_le(l + 28, 2);
        const std::uint64_t start = offset + 30 + lnlen + lxlen;
        if (start > cd_offset || csize > cd_offset - start)
            fail("member '", e.name, "': its ", csize, " bytes of data at offset ", start,
                 " run past the end of the data area (", cd_offset, " bytes); the file is truncated or corrupt");
        if (lnlen != nlen || std::memcmp(l + 30, name, static_cast<std::size_t>(nlen)) != 0 ||
            get_le(l + 8, 2) != method || (!(get_le(l + 6, 2) & 8u) && get_le(l + 14, 4) != crc))
            fail("the local header of member '", e.name, "' at offset ", offset,
                 " disagrees with the central directory (name, method or CRC)");
        if (method == 8 && usize > csize * detail::zip_max_ratio + 1024)
            fail("member '", e.name, "' claims ", usize, " bytes from ", csize,
                 " compressed bytes, beyond deflate's limit");
        e.data.resize(static_cast<std::size_t>(usize));
        if (method == 0) {
            if (usize) std::memcpy(e.data.data(), data + start, static_cast<std::size_t>(usize));
        } else {
            detail::zip_inflate(data + start, static_cast<std::size_t>(csize), e.data, where);
        }
        const std::uint32_t actual = crc32(e.data.data(), e.data.size());
        if (actual != crc)
            fail("CRC mismatch in member '", e.name, "': the archive says ",
                 detail::checksum_hex(static_cast<std::uint32_t>(crc)), ", the data gives ", detail::checksum_hex(actual),
                 "; the file is corrupt");
        out.push_back(std::move(e));
    }
    return out;
}

/// read_zip of the file at `path` (IoError when it cannot be read).
/// @throws IoError when the file cannot be opened or read (or has a deflated member and strata has no zlib).
/// @throws FormatError as read_zip(data, size, source), or for a file over 64 GiB.
inline std::vector<ZipEntry> read_zip(const std::string& path) {
    const std::vector<std::uint8_t> bytes = read_whole_file(path);
    return read_zip(bytes.data(), bytes.size(), path);
}

/// The bytes of a zip archive of `entries` in order: stored, or deflated when `compress` (IoError without zlib).
/// Timestamps are fixed (1980-01-01) so equal contents give equal bytes. Throws ArgumentError when the archive
/// would need zip64 (65535+ members, 4 GiB) or a name is empty, duplicated or longer than 65535 bytes.
/// @throws ArgumentError when the archive would need zip64 or a name is empty, duplicated or too long.
/// @throws IoError when `compress` and strata has no zlib, or zlib's deflate fails.
inline std::vector<std::uint8_t> write_zip(const std::vector<ZipEntry>& entries, bool compress = false) {
    using detail::put_le;
#ifndef STRATA_HAS_ZLIB
    check<IoError>(!compress, "zip: cannot write deflated members: strata was built without zlib");
#endif
    check<ArgumentError>(entries.size() < 0xFFFF, "zip: ", entries.size(),
                         " members need zip64, which strata does not write");
    std::vector<std::uint8_t> out, central;
    std::unordered_set<std::string> seen;
    for (const ZipEntry& e : entries) {
        check<ArgumentError>(!e.name.empty() && e.name.size() <= 0xFFFF && seen.insert(e.name).second,
                             "zip: member names must be non-empty, unique and at most 65535 bytes, got '", e.name, "'");
        check<ArgumentError>(e.data.size() < 0xFFFFFFFFu, "zip: member '", e.name, "' of ", e.data.size(),
                             " bytes needs zip64, which strata does not write");
        const std::uint32_t crc = crc32(e.data.data(), e.data.size());
        const std::uint64_t offset = out.size();
#ifdef STRATA_HAS_ZLIB
        const std::vector<std::uint8_t> deflated = compress ? detail::zip_deflate(e.data) : std::vector<std::uint8_t>();
        const std::vector<std::uint8_t>& body = compress ? deflated : e.data;
#else
        const std::vector<std::uint8_t>& body = e.data;
#endif
        const unsigned method = compress ? 8 : 0;
        bool utf8 = false;
        for (char c : e.name) utf8 = utf8 || (static_cast<unsigned char>(c) & 0x80u);
        // Fields shared by the local and the central header, from "version needed" to "extra length".
        auto common = [&](std::vector<std::uint8_t>& v) {
            put_le(v, 20, 2);                  // version needed: 2.0
            put_le(v, utf8 ? 0x0800 : 0, 2);   // flags: UTF-8 name
            put_le(v, method, 2);
            put_le(v, 0, 2);                   // time 00:00
            put_le(v, 0x21, 2);                // date 1980-01-01
            put_le(v, crc, 4);
            put_le(v, body.size(), 4);
            put_le(v, e.data.size(), 4);
            put_le(v, e.name.size(), 2);
            put_le(v, 0, 2);                   // no extra field
        };
        put_le(out, detail::zip_local_sig, 4);
        common(out);
        out.insert(out.end(), e.name.begin(), e.name.end());
        out.insert(out.end(), body.begin(), body.end());
        check<ArgumentError>(out.size() < 0xFFFFFFFFu, "zip: the archive exceeds 4 GiB and would need zip64");
        put_le(central, detail::zip_central_sig, 4);
        put_le(central, 0x0314, 2);            // made by: Unix, 2.0
        common(central);
        put_le(central, 0, 2);                 // comment length
        put_le(central, 0, 2);                 // disk
        put_le(central, 0, 2);                 // internal attributes
        put_le(central, 0100644u << 16, 4);    // external attributes: regular file, rw-r--r--
        put_le(central, offset, 4);
        central.insert(central.end(), e.name.begin(), e.name.end());
    }
    const std::uint64_t cd_offset = out.size();
    out.insert(out.end(), central.begin(), central.end());
    put_le(out, detail::zip_end_sig, 4);
    put_le(out, 0, 4);                         // disk numbers
    put_le(out, entries.size(), 2);
    put_le(out, entries.size(), 2);
    put_le(out, central.size(), 4);
    put_le(out, cd_offset, 4);
    put_le(out, 0, 2);                         // comment length
    return out;
}

}  // namespace strata::io
