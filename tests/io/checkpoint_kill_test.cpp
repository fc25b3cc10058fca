// kill -9 during a checkpoint save (issue 9): a forked child saves two distinguishable checkpoints of ~2.7 MB
// in turn to one path with Checkpoint::save (atomic_write_file), reporting through a pipe when it enters the
// loop and after each complete save, and is killed with SIGKILL after 0, 1 or 2 complete saves plus a delay of
// 0 to 1 save times, or as soon as its next temporary file appears (mid-write). After every kill the file at
// the path must be byte for byte one of the two complete checkpoints, load, and hold exactly that checkpoint's
// tensors; only when the very first save was killed may there be no file. The temporary file a killed save
// leaves behind (`<path>.tmp.<pid>.<n>`, named after the dead process) is expected of the rename scheme: the
// next save must still succeed next to it, and nothing else may appear in the directory. A last test pins
// down (as a known failure) what happens when a later process reuses the dead one's pid.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strata/io/checkpoint.hpp"

using namespace strata;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// A fresh directory, removed with its contents at the end of the test.
struct KillDir {
    fs::path path;
    KillDir() {
        path = fs::temp_directory_path() / ("strata_kill_" + std::to_string(::getpid()));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~KillDir() { fs::remove_all(path); }
    std::string file(const std::string& name) const { return (path / name).string(); }
    /// The names in the directory other than `keep`.
    std::vector<std::string> others(const std::string& keep) const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(path))
            if (e.path().filename() != keep) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

/// Checkpoint number `which` (0 or 1): ~2.7 MB of float tensors whose values depend on `which`, plus meta
/// entries. The two versions have the same names and shapes, like two saves of one training run.
io::Checkpoint make_version(int which) {
    io::Checkpoint ck;
    Generator gen(1234 + static_cast<std::uint64_t>(which));
    const Shape shapes[] = {Shape{512, 768}, Shape{256, 2, 3, 3}, Shape{500, 600}, Shape{10}};
    int i = 0;
    for (const Shape& s : shapes) {
        Tensor<float> t(s);
        t.fill_normal(gen);
        ck.add_tensor("model.layer" + std::to_string(i++) + ".weight", t);
    }
    ck.add_scalar("meta.which", static_cast<std::int64_t>(which));
    ck.add_scalar("meta.epoch", static_cast<std::int64_t>(10 + which));
    ck.add_generator("rng.data", gen);
    return ck;
}

/// Whether `got` holds exactly the entries of `want`: names, dtypes, shapes and every tensor value.
bool same_tensors(const io::Checkpoint& got, const io::Checkpoint& want) {
    if (got.names() != want.names()) return false;
    for (const std::string& name : want.names()) {
        const io::CheckpointEntry& a = got.entry(name);
        const io::CheckpointEntry& b = want.entry(name);
        if (a.dtype != b.dtype || a.dims != b.dims || a.data != b.data) return false;
        if (a.dtype == io::DType::f32) {
            const Tensor<float> ta = got.get_tensor<float>(name), tb = want.get_tensor<float>(name);
            if (std::memcmp(ta.data(), tb.data(), static_cast<std::size_t>(ta.numel()) * sizeof(float)) != 0)
                return false;
        }
    }
    return true;
}

/// How the parent picks the moment of the kill.
enum class KillAt { delay, temp_file_seen };

/// When to kill: after the child has reported `after_saves` complete saves, wait `delay` or (temp_file_seen)
/// until the temporary file of its next save exists.
struct KillPlan {
    int after_saves = 0;
    KillAt how = KillAt::delay;
    std::chrono::microseconds delay{0};
};

/// Forks a child that writes a byte to a pipe, then saves `versions[0]`, `versions[1]`, `versions[0]`, ... to
/// `path`, writing one more byte after each complete save, until it is killed (or for at most 20 s). The parent
/// kills it as `plan` says and reaps it. Returns whether the child was still running (killed by SIGKILL).
bool save_and_kill(const std::string& path, const io::Checkpoint (&versions)[2], const KillPlan& plan) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // Child: no Catch assertions, no exceptions escaping, no exit handlers (_exit).
        ::close(fds[0]);
        const char ready = 'r', saved = 's';
        if (::write(fds[1], &ready, 1) != 1) ::_exit(3);
        const auto stop = Clock::now() + std::chrono::seconds(20);
        try {
            for (int i = 0; Clock::now() < stop; ++i) {
                versions[i % 2].save(path);
                if (::write(fds[1], &saved, 1) != 1) ::_exit(3);
            }
        } catch (...) {
            ::_exit(2);
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    int reported = -1;  // complete saves the child reported (after its 'r')
    char byte = 0;
    while (reported < plan.after_saves && ::read(fds[0], &byte, 1) == 1) ++reported;
    if (reported == plan.after_saves && plan.how == KillAt::temp_file_seen) {
        // The temporary file of the save just reported is renamed already: any one now is the next save's.
        const std::string prefix = fs::path(path).filename().string() + ".tmp." + std::to_string(pid) + ".";
        const auto give_up = Clock::now() + std::chrono::seconds(2);
        bool seen = false;
        while (!seen && Clock::now() < give_up) {
            for (const auto& e : fs::directory_iterator(fs::path(path).parent_path()))
                if (e.path().filename().string().rfind(prefix, 0) == 0) seen = true;
        }
    } else if (reported == plan.after_saves) {
        std::this_thread::sleep_for(plan.delay);
    }
    ::kill(pid, SIGKILL);
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    INFO("child status " << status << " after " << reported << " reported saves");
    REQUIRE(reported == plan.after_saves);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

/// What the kills left: how often no file, version 0 or 1, and how many temporary files in all.
struct Outcomes {
    int missing = 0;
    int version[2] = {0, 0};
    int temp_files = 0;
};

/// Checks the directory after a kill: `path` is absent (allowed only when `may_be_missing`) or byte for byte
/// `bytes[0]` or `bytes[1]` and loads to exactly that checkpoint's tensors; every other name is a temporary
/// file of a killed save. Removes those temporary files after checking that a new save succeeds next to them.
/// Counts what it found in `seen`.
void check_after_kill(const KillDir& dir, const std::string& path, const io::Checkpoint (&versions)[2],
                      const std::vector<std::uint8_t> (&bytes)[2], bool may_be_missing, Outcomes& seen) {
    const std::string name = fs::path(path).filename().string();
    const std::vector<std::string> stray = dir.others(name);
    for (const std::string& s : stray) {
        INFO("stray file " << s);
        CHECK(s.rfind(name + ".tmp.", 0) == 0);
    }
    if (!fs::exists(path)) {
        CHECK(may_be_missing);
        ++seen.missing;
    } else {
        const std::vector<std::uint8_t> on_disk = io::read_whole_file(path);
        const int which = on_disk == bytes[0] ? 0 : on_disk == bytes[1] ? 1 : -1;
        INFO("file of " << on_disk.size() << " bytes; versions have " << bytes[0].size() << " and "
                        << bytes[1].size());
        REQUIRE(which >= 0);
        ++seen.version[which];
        const io::Checkpoint loaded = io::Checkpoint::load(path);
        CHECK(loaded.get_scalar<int>("meta.which") == which);
        CHECK(same_tensors(loaded, versions[which]));
        CHECK_FALSE(same_tensors(loaded, versions[1 - which]));
    }
    if (!stray.empty()) {
        // A leftover temporary file does not stop the next save, which replaces the file completely.
        versions[1].save(path);
        const bool replaced = io::read_whole_file(path) == bytes[1];  // (a bool: Catch would print MB-sized vectors)
        CHECK(replaced);
        CHECK(dir.others(name) == stray);
        for (const std::string& s : stray) fs::remove(dir.path / s);
    }
    seen.temp_files += static_cast<int>(stray.size());
}

}  // namespace

TEST_CASE("kill -9 during a checkpoint save leaves one complete checkpoint", "[io][checkpoint][kill]") {
    KillDir dir;
    const std::string path = dir.file("last.ck");
    const io::Checkpoint versions[2] = {make_version(0), make_version(1)};
    const std::vector<std::uint8_t> bytes[2] = {versions[0].to_bytes(), versions[1].to_bytes()};
    REQUIRE(bytes[0].size() == bytes[1].size());
    REQUIRE((bytes[0] != bytes[1]));
    REQUIRE(bytes[0].size() > (std::size_t{2} << 20));

    // How long one save takes here (it sets the range of kill delays): best of three.
    auto save_time = std::chrono::microseconds::max();
    for (int i = 0; i < 3; ++i) {
        const auto t0 = Clock::now();
        versions[i % 2].save(path);
        save_time = std::min(save_time, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0));
    }
    fs::remove(path);
    INFO("one save takes " << save_time.count() << " us");

    int killed = 0, rounds = 0;
    Outcomes seen;
    // Rounds: kill after 0, 1 or 2 complete saves, then after 0, 1/2 or 1 save time or as soon as the next
    // save's temporary file exists.
    auto plan_of = [&](int r) {
        KillPlan plan;
        plan.after_saves = r % 3;
        plan.how = r / 3 == 3 ? KillAt::temp_file_seen : KillAt::delay;
        plan.delay = save_time * (r / 3) / 2;
        return plan;
    };
    const int n_rounds = 12;
    SECTION("first save: no file or a complete version") {
        for (int r = 0; r < n_rounds; ++r) {
            const KillPlan plan = plan_of(r);
            INFO("round " << r << ": after " << plan.after_saves << " saves");
            fs::remove(path);
            killed += save_and_kill(path, versions, plan);
            // Before the first rename there is no file, after it always a complete version.
            check_after_kill(dir, path, versions, bytes, plan.after_saves == 0, seen);
            ++rounds;
        }
        CHECK(seen.missing >= 1);  // the kills right after the start hit the first save
    }
    SECTION("replacing a file: always one of the two complete versions") {
        versions[1].save(path);
        for (int r = 0; r < n_rounds; ++r) {
            const KillPlan plan = plan_of(r);
            INFO("round " << r << ": after " << plan.after_saves << " saves");
            killed += save_and_kill(path, versions, plan);
            check_after_kill(dir, path, versions, bytes, false, seen);
            ++rounds;
        }
    }
    // Every child was still saving when it was killed, and the kills left both versions and some temporary files
    // (each temp_file_seen round should leave one; a rename can win the race now and then).
    INFO("save " << save_time.count() << " us; rounds " << rounds << ", killed " << killed << "; no file "
                 << seen.missing << ", version 0 " << seen.version[0] << ", version 1 " << seen.version[1]
                 << ", temporary files " << seen.temp_files);
    CHECK(killed == rounds);
    CHECK(seen.temp_files >= 1);
    CHECK(seen.version[0] >= 1);
    CHECK(seen.version[1] >= 1);
    CHECK(dir.others("last.ck").empty());
}

TEST_CASE("A save after a killed save reuses nothing of it", "[io][checkpoint][kill]") {
    // The temporary name carries the saving process's pid, so a later process's save never opens the dead
    // one's file (O_EXCL would refuse it). A stale temporary file of another pid is ignored.
    KillDir dir;
    const std::string path = dir.file("model.ck");
    const io::Checkpoint ck = make_version(0);
    const std::string stale = path + ".tmp.999999999.0";
    std::ofstream(stale, std::ios::binary) << std::string(100, '\xEE');  // a half-written leftover
    for (int i = 0; i < 2; ++i) {
        ck.save(path);
        const bool saved = io::read_whole_file(path) == ck.to_bytes();
        CHECK(saved);
    }
    CHECK(io::read_whole_file(stale) == std::vector<std::uint8_t>(100, 0xEE));
    CHECK(dir.others("model.ck") == std::vector<std::string>{"model.ck.tmp.999999999.0"});
}

TEST_CASE("A leftover temporary file of a reused pid does not stop a save", "[io][checkpoint][kill]") {
    // The temporary name is "<path>.tmp.<pid>.<counter>" with a per-process counter from 0, opened with O_EXCL.
    // A process killed during its save number n leaves "<path>.tmp.<pid>.<n>"; a restarted run that gets the
    // same pid (PID 1, or any fixed pid, in a container restarted on the same volume) would fail its save number
    // n with "File exists" if atomic_write_file did not move on to the next name on EEXIST. Simulated here with the name this process's next save will use.
    KillDir dir;
    const std::string path = dir.file("run.ck");
    const std::string probe = io::detail::temp_name_for(path);  // "<path>.tmp.<pid>.<n>"; the next save takes n+1
    const unsigned long n = std::stoul(probe.substr(probe.rfind('.') + 1));
    const std::string stale = probe.substr(0, probe.rfind('.') + 1) + std::to_string(n + 1);
    std::ofstream(stale, std::ios::binary) << std::string(100, '\xEE');  // what a killed earlier run left
    const io::Checkpoint ck = make_version(1);
    CHECK_NOTHROW(ck.save(path));
    const bool saved = fs::exists(path) && io::read_whole_file(path) == ck.to_bytes();
    CHECK(saved);
}
