#pragma once
/// @file
/// Whole-file I/O for checkpoints and npz files: atomic_write_file() replaces a file so that a crash or a failed
/// write never leaves a half-written file under the target name, and read_whole_file() reads a file under a size
/// limit.
///
/// atomic_write_file(path, ...) on POSIX: creates `<path>.tmp.<pid>.<counter>` in the same directory (O_EXCL),
/// fwrite, fflush, fsync, fclose, rename over `path`, then fsyncs the directory. On any failure it removes the
/// temporary file and throws IoError naming the path and strerror; the previous file at `path` stays intact.
/// Elsewhere it falls back to write + std::filesystem::rename without the fsyncs.
///
/// A process killed outright (kill -9) during a save leaves the previous file, or
/// the complete new one, under `path` (tests/io/checkpoint_kill_test.cpp) and its temporary file
/// `<path>.tmp.<pid>.<counter>` behind: nothing removes it, so delete stale `*.tmp.*` files next to a checkpoint
/// when no save is running. Later saves use fresh names and ignore it, except in one case: a process that gets
/// the dead one's pid (a restarted container's PID 1) fails its save number <counter> with "File exists".
///
/// Test seam: detail::ScopedWriteFault makes one step fail with a chosen errno (e.g. a write that stops after
/// N bytes with ENOSPC), to test that a failed save leaves the old file loadable and no temporary file behind.

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "strata/core/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#define STRATA_IO_POSIX 1
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace strata::io {

/// The steps of atomic_write_file, named for fault injection and in error messages.
enum class WriteStep { open, write, flush, sync, close, rename, sync_dir };

namespace detail {

/// A simulated failure: `step` fails with errno `error`; for WriteStep::write, after `after_bytes` bytes of the
/// data were really written (a disk that fills up mid-save).
struct WriteFault {
    WriteStep step = WriteStep::write;
    std::uint64_t after_bytes = 0;
    int error = ENOSPC;
};

/// The fault the current thread's next atomic writes simulate (null: none).
inline const WriteFault*& active_write_fault() {
    thread_local const WriteFault* fault = nullptr;
    return fault;
}

/// Installs a WriteFault for the current thread for the guard's lifetime (test seam).
class ScopedWriteFault {
public:
    explicit ScopedWriteFault(WriteFault fault) : fault_(fault), previous_(active_write_fault()) {
        active_write_fault() = &fault_;
    }
    ScopedWriteFault(const ScopedWriteFault&) = delete;
    ScopedWriteFault& operator=(const ScopedWriteFault&) = delete;
    ~ScopedWriteFault() { active_write_fault() = previous_; }

private:
    WriteFault fault_;
    const WriteFault* previous_;
};

/// The errno to simulate at `step`, or 0.
inline int injected_error(WriteStep step) {
    const WriteFault* f = active_write_fault();
    return f && f->step == step ? f->error : 0;
}

inline const char* write_step_name(WriteStep step) {
    switch (step) {
        case WriteStep::open: return "create the temporary file";
        case WriteStep::write: return "write the temporary file";
        case WriteStep::flush: return "flush the temporary file";
        case WriteStep::sync: return "fsync the temporary file";
        case WriteStep::close: return "close the temporary file";
        case WriteStep::rename: return "rename the temporary file over the target";
        case WriteStep::sync_dir: return "fsync the directory after the rename";
    }
    return "?";
}

/// A fresh temporary name next to `path`: "<path>.tmp.<pid>.<counter>".
inline std::string temp_name_for(const std::string& path) {
    static std::atomic<unsigned long> counter{0};
#ifdef STRATA_IO_POSIX
    const long pid = static_cast<long>(::getpid());
#else
    const long pid = 0;
#endif
    return path + ".tmp." + std::to_string(pid) + "." + std::to_string(counter.fetch_add(1));
}

}  // namespace detail

/// Replaces the file at `path` with the `size` bytes at `data`, atomically (see the file comment): readers see
/// either the old file or the complete new one. Throws IoError naming `path`, the failed step and strerror on
/// any failure, after removing the temporary file; the previous file at `path` is then unchanged. (A failure of
/// the final directory fsync is reported too, although the new file is then already in place.)
/// @throws IoError naming `path`, the failed step (create, write, flush, fsync, close, rename, fsync of the
/// directory) and strerror.
inline void atomic_write_file(const std::string& path, const void* data, std::size_t size) {
    std::string tmp = detail::temp_name_for(path);
    std::FILE* file = nullptr;
    bool created = false;
    auto fail = [&](WriteStep step, int err) {
        if (file) std::fclose(file);
        if (created && step != WriteStep::sync_dir) std::remove(tmp.c_str());
        throw IoError(strata::detail::concat(
            "cannot save ", path, ": failed to ", detail::write_step_name(step), " ", tmp, ": ", std::strerror(err),
            step == WriteStep::sync_dir ? " (the new file is in place but may not survive a crash)"
                                        : "; the previous file (if any) is unchanged"));
    };
    // The injected errno of `step` if any, else errno if the real call `failed`, else 0.
    auto outcome = [](WriteStep step, bool failed) {
        const int injected = detail::injected_error(step);
        return injected ? injected : failed ? (errno ? errno : EIO) : 0;
    };
    if (int e = detail::injected_error(WriteStep::open)) fail(WriteStep::open, e);
#ifdef STRATA_IO_POSIX
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    // A leftover of a killed process that had the same pid (a restarted container) holds this name: take the
    // next one. Bounded, so that a directory that refuses every name still ends in an error.
    for (int attempt = 0; fd < 0 && errno == EEXIST && attempt < 1000; ++attempt) {
        tmp = detail::temp_name_for(path);
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    }
    if (fd < 0) fail(WriteStep::open, errno);
    created = true;
    file = ::fdopen(fd, "wb");
    if (!file) {
        const int e = errno;
        ::close(fd);
        fail(WriteStep::open, e);
    }
#else
    file = std::fopen(tmp.c_str(), "wb");
    if (!file) fail(WriteStep::open, errno);
    created = true;
#endif
    const detail::WriteFault* fault = detail::active_write_fault();
    const bool short_write = fault && fault->step == WriteStep::write && fault->after_bytes < size;
    const std::size_t limit = short_write ? static_cast<std::size_t>(fault->after_bytes) : size;
    const std::size_t written = limit == 0 ? 0 : std::fwrite(data, 1, limit, file);
    if (short_write) fail(WriteStep::write, fault->error);
    if (written != size) fail(WriteStep::write, errno ? errno : EIO);
    if (int e = outcome(WriteStep::flush, std::fflush(file) != 0)) fail(WriteStep::flush, e);
#ifdef STRATA_IO_POSIX
    if (int e = outcome(WriteStep::sync, ::fsync(::fileno(file)) != 0)) fail(WriteStep::sync, e);
#endif
    {
        const bool failed = std::fclose(file) != 0;
        file = nullptr;
        if (int e = outcome(WriteStep::close, failed)) fail(WriteStep::close, e);
    }
    if (int e = detail::injected_error(WriteStep::rename)) fail(WriteStep::rename, e);
#ifdef STRATA_IO_POSIX
    if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(WriteStep::rename, errno);
    created = false;
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    int e = detail::injected_error(WriteStep::sync_dir);
    if (!e) {
        const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
            e = errno;
        } else {
            if (::fsync(dfd) != 0 && errno != EINVAL && errno != ENOTSUP) e = errno;  // some filesystems refuse
            ::close(dfd);
        }
    }
    if (e) fail(WriteStep::sync_dir, e);
#else
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) fail(WriteStep::rename, ec.value());
#endif
}

/// atomic_write_file of a byte vector.
/// @throws IoError as atomic_write_file(path, data, size).
inline void atomic_write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    atomic_write_file(path, bytes.data(), bytes.size());
}

/// The whole content of the file at `path`. Throws IoError naming the path and strerror when it cannot be
/// opened or read, and FormatError when it is larger than `max_bytes` (checked before allocating).
/// @throws IoError when the file cannot be opened, sized or read, or changes size while being read.
/// @throws FormatError when it is larger than `max_bytes`.
inline std::vector<std::uint8_t> read_whole_file(const std::string& path,
                                                 std::uint64_t max_bytes = std::uint64_t{1} << 36) {
    struct Closer {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
    check<IoError>(file != nullptr, "cannot open ", path, ": ", std::strerror(errno));
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(path, ec);
    check<IoError>(!ec, "cannot get the size of ", path, ": ", ec.message());
    check<FormatError>(size <= max_bytes, path, ": file has ", size, " bytes, more than the limit of ", max_bytes);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    const std::size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), file.get());
    check<IoError>(!std::ferror(file.get()), "cannot read ", path, ": ", std::strerror(errno));
    check<IoError>(got == bytes.size() && std::fgetc(file.get()) == EOF, "cannot read ", path,
                   ": the file changed size while being read");
    return bytes;
}

}  // namespace strata::io
