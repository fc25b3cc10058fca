#pragma once
/// @file
/// The harnesses' temporary input file: the file readers under test take a path, so each input is written to a
/// per-process file first.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace strata_fuzz {

/// A temporary file under /tmp named after the process id (harnesses running side by side do not collide),
/// removed at exit.
struct TempFile {
    std::string path;
    explicit TempFile(const char* suffix) : path("/tmp/strata_fuzz_" + std::to_string(::getpid()) + suffix) {}
    ~TempFile() { std::remove(path.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    /// Replaces the file's contents by `size` bytes at `data`; aborts (a finding) if the write fails.
    void write(const std::uint8_t* data, std::size_t size) const {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        if (!f || (size > 0 && std::fwrite(data, 1, size, f) != size)) std::abort();
        std::fclose(f);
    }
};

}  // namespace strata_fuzz
