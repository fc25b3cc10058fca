#pragma once
// A fresh temporary directory for one test, removed with its contents at the end of the test.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace strata::test {

/// A fresh directory under the system temp directory, removed with its contents on destruction.
struct TempDir {
    std::filesystem::path path;  ///< The directory.

    TempDir() {
        static std::atomic<int> counter{0};
        path = std::filesystem::temp_directory_path() /
               ("strata_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    /// The directory, as a string.
    std::string str() const { return path.string(); }
    /// The path of `name` inside the directory.
    std::string file(const std::string& name) const { return (path / name).string(); }
    /// The names of the directory's entries, sorted.
    std::vector<std::string> listing() const {
        std::vector<std::string> out;
        for (const auto& e : std::filesystem::directory_iterator(path)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

}  // namespace strata::test
