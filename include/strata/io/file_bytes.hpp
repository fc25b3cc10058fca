#pragma once
/// @file
/// Reading data files that may be gzip-compressed: ByteReader streams the bytes of a raw or gzip file (gzip
/// through zlib's inflate when strata was built with zlib, STRATA_HAS_ZLIB), read_file_bytes() reads a whole
/// file under a size limit, and find_file_or_gz() finds `<name>` or `<name>.gz` in a directory.
///
/// A file is treated as gzip when its name ends in ".gz" or it starts with the gzip magic bytes 1f 8b.
/// Truncated or corrupt gzip data throws FormatError; a file that cannot be opened or read throws IoError, and
/// so does a gzip file when strata was built without zlib.

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "strata/core/error.hpp"

#ifdef STRATA_HAS_ZLIB
#include <zlib.h>
#endif

namespace strata::io {

/// Whether this build of strata reads gzip files (true when CMake found zlib).
#ifdef STRATA_HAS_ZLIB
inline constexpr bool has_zlib = true;
#else
inline constexpr bool has_zlib = false;
#endif

/// Upper bound on deflate's compression ratio: a gzip file of n bytes never decompresses to more than
/// max_gzip_ratio * n bytes. Used to reject absurd size claims before allocating.
inline constexpr std::uint64_t max_gzip_ratio = 1032;

namespace detail {

struct FileCloser {
    void operator()(std::FILE* f) const noexcept {
        if (f) std::fclose(f);
    }
};

inline bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace detail

/// Streams the data bytes of a raw or gzip-compressed file, front to back. Not copyable or movable.
class ByteReader {
public:
    /// Opens `path`. Throws IoError if it cannot be opened, or if it is gzip and strata was built without zlib.
    /// @throws IoError when the file cannot be opened, sized or read, or is gzip and strata has no zlib.
    explicit ByteReader(std::string path) : path_(std::move(path)) {
        file_.reset(std::fopen(path_.c_str(), "rb"));
        check<IoError>(file_ != nullptr, path_, ": cannot open: ", std::strerror(errno));
        std::error_code ec;
        const auto size = std::filesystem::file_size(path_, ec);
        check<IoError>(!ec, path_, ": cannot get the file size: ", ec.message());
        file_size_ = static_cast<std::uint64_t>(size);
        unsigned char magic[2] = {0, 0};
        const std::size_t got = std::fread(magic, 1, 2, file_.get());
        check<IoError>(!std::ferror(file_.get()), path_, ": read error: ", std::strerror(errno));
        compressed_ = detail::ends_with(path_, ".gz") || (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b);
        check<IoError>(std::fseek(file_.get(), 0, SEEK_SET) == 0, path_, ": cannot seek: ", std::strerror(errno));
        if (compressed_) {
#ifdef STRATA_HAS_ZLIB
            z_ = std::make_unique<z_stream>();
            std::memset(z_.get(), 0, sizeof(z_stream));
            if (inflateInit2(z_.get(), 15 + 16) != Z_OK) throw std::bad_alloc();  // 15 + 16: gzip only
            input_.resize(1 << 16);
#else
            throw IoError(path_ + ": is gzip-compressed but strata was built without zlib; reconfigure with zlib "
                                  "installed (STRATA_USE_ZLIB=ON) or decompress the file with gunzip");
#endif
        }
    }

    ByteReader(const ByteReader&) = delete;
    ByteReader& operator=(const ByteReader&) = delete;

    ~ByteReader() {
#ifdef STRATA_HAS_ZLIB
        if (z_) inflateEnd(z_.get());
#endif
    }

    /// The path as given.
    const std::string& path() const { return path_; }
    /// Whether the file is read through gzip decompression.
    bool compressed() const { return compressed_; }
    /// The size of the file on disk, in bytes.
    std::uint64_t file_size() const { return file_size_; }
    /// The number of data bytes delivered so far (decompressed bytes for gzip).
    std::uint64_t position() const { return position_; }
    /// The total data size if known without reading: the file size for a raw file, nothing for gzip.
    std::optional<std::uint64_t> exact_size() const {
        if (compressed_) return std::nullopt;
        return file_size_;
    }
    /// An upper bound on the total data size: the file size, or max_gzip_ratio times it for gzip.
    std::uint64_t max_size() const { return compressed_ ? file_size_ * max_gzip_ratio : file_size_; }

    /// Reads up to `n` bytes into `dst` and returns how many it read; fewer than `n` only at the end of the
    /// data. Throws FormatError on a truncated or corrupt gzip stream, IoError on a read error.
    /// @throws FormatError when the gzip stream is truncated or corrupt, naming the path.
    /// @throws IoError on a read error, naming the path and strerror.
    std::size_t read(void* dst, std::size_t n) {
        auto* out = static_cast<std::uint8_t*>(dst);
        std::size_t done = 0;
        if (n > 0 && has_peek_) {
            out[done++] = peek_;
            has_peek_ = false;
        }
        done += compressed_ ? read_gzip(out + done, n - done) : read_raw(out + done, n - done);
        position_ += done;
        return done;
    }

    /// Whether the data is exhausted (reads ahead one byte; for gzip this also verifies the stream's end and
    /// checksum, throwing FormatError if the stream is cut short or corrupt).
    /// @throws FormatError when the gzip stream is truncated or corrupt; IoError on a read error.
    bool at_end() {
        if (has_peek_) return false;
        std::uint8_t b;
        if (read(&b, 1) == 0) return true;
        --position_;
        peek_ = b;
        has_peek_ = true;
        return false;
    }

    /// Reads and discards up to `cap` bytes, returning how many there were (to report trailing data).
    /// @throws FormatError when the gzip stream is truncated or corrupt; IoError on a read error.
    std::uint64_t skip(std::uint64_t cap) {
        std::array<std::uint8_t, 1 << 14> scratch;
        std::uint64_t total = 0;
        while (total < cap) {
            const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(scratch.size(), cap - total));
            const std::size_t got = read(scratch.data(), want);
            total += got;
            if (got < want) break;
        }
        return total;
    }

private:
    std::size_t read_raw(std::uint8_t* dst, std::size_t n) {
        const std::size_t got = n == 0 ? 0 : std::fread(dst, 1, n, file_.get());
        check<IoError>(!std::ferror(file_.get()), path_, ": read error: ", std::strerror(errno));
        return got;
    }

    std::size_t read_gzip([[maybe_unused]] std::uint8_t* dst, [[maybe_unused]] std::size_t n) {
        std::size_t done = 0;
#ifdef STRATA_HAS_ZLIB
        while (done < n && !finished_) {
            if (z_->avail_in == 0 && !refill()) {
                if (member_ended_) {  // clean end of the last gzip member
                    finished_ = true;
                    break;
                }
                throw FormatError(strata::detail::concat(
                    path_, ": truncated gzip stream: the compressed data ends after ", compressed_read_,
                    " bytes, before the end of the gzip stream (", position_ + done, " bytes decompressed)"));
            }
            if (member_ended_) {  // more input after a complete member: it must be another member
                inflateReset(z_.get());
                ++members_;
                member_ended_ = false;
            }
            const std::size_t want = std::min<std::size_t>(n - done, UINT_MAX);
            z_->next_out = dst + done;
            z_->avail_out = static_cast<uInt>(want);
            const int rc = inflate(z_.get(), Z_NO_FLUSH);
            done += want - z_->avail_out;
            if (rc == Z_STREAM_END) {
                member_ended_ = true;
            } else if (rc == Z_MEM_ERROR) {
                throw std::bad_alloc();
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                throw FormatError(strata::detail::concat(
                    path_, ": corrupt gzip data after ", position_ + done, " decompressed bytes: ",
                    z_->msg ? z_->msg : "inflate error ", z_->msg ? "" : std::to_string(rc),
                    members_ > 0 && z_->total_in <= 10 ? " (bytes after the end of the gzip stream that do not "
                                                         "start another gzip member)"
                                                       : ""));
            }
        }
#endif
        return done;
    }

#ifdef STRATA_HAS_ZLIB
    bool refill() {
        const std::size_t got = std::fread(input_.data(), 1, input_.size(), file_.get());
        check<IoError>(!std::ferror(file_.get()), path_, ": read error: ", std::strerror(errno));
        compressed_read_ += got;
        z_->next_in = input_.data();
        z_->avail_in = static_cast<uInt>(got);
        return got > 0;
    }

    std::unique_ptr<z_stream> z_;
    std::vector<Bytef> input_;
#endif

    std::string path_;
    std::unique_ptr<std::FILE, detail::FileCloser> file_;
    std::uint64_t file_size_ = 0;
    std::uint64_t position_ = 0;
    bool compressed_ = false;
#ifdef STRATA_HAS_ZLIB
    std::uint64_t compressed_read_ = 0;
    int members_ = 0;            // gzip members completed before the current one
    bool member_ended_ = false;  // the inflate stream reached the end of a gzip member
    bool finished_ = false;      // ... and no other member follows
#endif
    bool has_peek_ = false;
    std::uint8_t peek_ = 0;
};

/// Reads the whole data of `path` (decompressed if gzip). Throws FormatError if it exceeds `max_bytes`
/// (checked before allocating for a raw file, while streaming for gzip) or the gzip stream is truncated or
/// corrupt, IoError if the file cannot be read.
/// @throws FormatError when the data exceeds `max_bytes` or the gzip stream is truncated or corrupt.
/// @throws IoError when the file cannot be opened or read, or is gzip and strata has no zlib.
inline std::vector<std::uint8_t> read_file_bytes(const std::string& path,
                                                 std::uint64_t max_bytes = std::uint64_t{1} << 32) {
    ByteReader reader(path);
    std::vector<std::uint8_t> data;
    if (auto size = reader.exact_size()) {
        check<FormatError>(*size <= max_bytes, path, ": file has ", *size, " bytes, more than the limit of ",
                           max_bytes);
        data.resize(static_cast<std::size_t>(*size));
        const std::size_t got = reader.read(data.data(), data.size());
        check<IoError>(got == data.size(), path, ": file shrank while reading: expected ", data.size(),
                       " bytes, read ", got);
        return data;
    }
    const std::uint64_t chunk = std::uint64_t{1} << 20;
    data.reserve(static_cast<std::size_t>(std::min(max_bytes, reader.file_size() * 4 + chunk)));
    for (;;) {
        const std::size_t old = data.size();
        const std::uint64_t room = max_bytes - old;
        data.resize(old + static_cast<std::size_t>(std::min(chunk, room + 1)));  // +1 detects going over
        const std::size_t got = reader.read(data.data() + old, data.size() - old);
        data.resize(old + got);
        check<FormatError>(data.size() <= max_bytes, path, ": decompresses to more than the limit of ", max_bytes,
                           " bytes");
        if (got == 0) return data;
    }
}

/// The path of `name` in `dir`, or else of `name`.gz. Throws IoError naming both candidates if neither exists.
/// @throws IoError when neither file exists, naming both candidates.
inline std::string find_file_or_gz(const std::string& dir, const std::string& name) {
    namespace fs = std::filesystem;
    const fs::path raw = fs::path(dir) / name;
    const fs::path gz = fs::path(dir) / (name + ".gz");
    std::error_code ec;
    if (fs::is_regular_file(raw, ec)) return raw.string();
    if (fs::is_regular_file(gz, ec)) return gz.string();
    throw IoError(strata::detail::concat(dir, ": found neither ", raw.string(), " nor ", gz.string()));
}

}  // namespace strata::io
