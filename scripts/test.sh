#!/usr/bin/env bash
# strata's whole test command (what CI runs):
#   1. installs missing Debian packages (scripts/install-deps.sh build data mpi fuzz);
#   2. build/release: Release with OpenMP, builds everything, runs ctest;
#   3. build/asan: clang (when found), -O1 with AddressSanitizer + UBSan and without OpenMP, runs ctest except
#      the "slow" label: the whole-model tests (tests/integration, the train_mnist scripts, skip_vs_plain, the
#      README quickstart) run here too, at STRATA_TEST_SCALE=small (fewer images and steps); only the MPI
#      training runs (slow under ASan), the valgrind run (memcheck and ASan do not mix), the recipe smoke runs
#      (numerics, not memory safety), and the checks of the build and the docs (docs/guide.md's programs, the
#      consumer projects, the compile-failure cases) are left to the release phase;
#   4. tsan: ThreadSanitizer without OpenMP, building ONLY strata_thread_tests (one model in eval mode serving
#      several threads, tests/threads) and running it (ctest -L threads): a data race fails it (exit 66);
#   5. fuzz: a bounded run of every libFuzzer harness (clang), STRATA_FUZZ_PARALLEL at a time.
# Prints the time of each phase, and ends with one line `N passed, N failed` summing all of them (a phase
# whose configure or build fails counts as one failed test). Exits non-zero if anything failed.
#
# Environment knobs:
#   STRATA_JOBS=N           build/test job count (default: nproc)
#   STRATA_SKIP_SANITIZE=1  skip the sanitizer build; STRATA_SKIP_TSAN=1 skip the ThreadSanitizer phase
#   STRATA_SANITIZE_CXX=... STRATA_SANITIZE_CC=...  the sanitizer build's compilers (default: clang++/clang if found)
#   STRATA_SKIP_FUZZ=1      skip the fuzzing phase; STRATA_FUZZ_SECONDS=N per harness (default 20; docs/fuzzing.md has the longer runs),
#                           STRATA_FUZZ_PARALLEL=N harnesses at a time (default: the job count)
#   STRATA_TEST_GLOB=...    only these unit test files (';'-separated globs relative to tests/)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

jobs="${STRATA_JOBS:-$(nproc)}"
# ctest runs $jobs tests at once and several of them run 2 OpenMP threads: with OpenMP's default (active)
# waiting, idle threads spin on cores another test needs. Passive waiting cut the release phase's tests from
# 320 s to 189 s on 2 cores (AMD EPYC Zen 5). A value set by the caller is kept.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
total_passed=0
total_failed=0
timings=()

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
banner() { printf '\n==== %s ====\n' "$*"; }

# Cache-variable args shared by both builds. Without the knob, drop any STRATA_TEST_GLOB an earlier run left in
# the cache so the default (all unit tests) applies.
# One-shot builds: the test executables as unity builds (STRATA_UNITY_TESTS, top-level CMakeLists.txt). The unit
# tests' objects took 232 s of CPU against 425 s file by file (Release, g++ 12, AMD EPYC Zen 5).
common_args=(-DSTRATA_UNITY_TESTS=ON)
if [[ -n "${STRATA_TEST_GLOB:-}" ]]; then
    common_args+=("-DSTRATA_TEST_GLOB=${STRATA_TEST_GLOB}")
else
    common_args+=(-USTRATA_TEST_GLOB)
fi

# run_phase NAME BUILD_DIR CMAKE_ARGS...: configure + build, then ctest (with the extra arguments in the array
# ctest_args); adds to the totals. With build_target set, builds only that target.
ctest_args=()
build_target=""
run_phase() {
    local name="$1" dir="$2"
    shift 2
    local t0 rc=0
    banner "$name: configure + build ($dir, -j$jobs)"
    t0="$(now)"
    cmake -S "$root" -B "$dir" "${common_args[@]}" "$@" || rc=$?
    if [[ $rc -eq 0 ]]; then
        cmake --build "$dir" -j "$jobs" ${build_target:+--target "$build_target"} || rc=$?
    fi
    local build_s
    build_s="$(elapsed "$t0")"
    echo "$name: configure + build took ${build_s} s"
    if [[ $rc -ne 0 ]]; then
        echo "$name: configure or build FAILED (exit $rc); its tests did not run" >&2
        timings+=("$name: build ${build_s} s (FAILED), tests not run")
        total_failed=$((total_failed + 1))
        return 0
    fi

    banner "$name: ctest -j$jobs"
    local log="$dir/ctest-output.log"
    t0="$(now)"
    rc=0
    (cd "$dir" && ctest --output-on-failure --no-tests=error -j "$jobs" ${ctest_args[@]+"${ctest_args[@]}"}) 2>&1 | tee "$log" || rc=$?
    local test_s
    test_s="$(elapsed "$t0")"
    echo "$name: tests took ${test_s} s"

    # "100% tests passed, 0 tests failed out of 25" / "92% tests passed, 2 tests failed out of 25"
    local line failed total
    line="$(grep -E '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)"
    if [[ -n "$line" ]]; then
        failed="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")"
        total="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")"
        if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi  # ctest failed for another reason
        total_passed=$((total_passed + total - failed))
        total_failed=$((total_failed + failed))
        timings+=("$name: build ${build_s} s, tests ${test_s} s ($((total - failed)) passed, $failed failed)")
    else
        echo "$name: ctest printed no summary (exit $rc)" >&2
        total_failed=$((total_failed + 1))
        timings+=("$name: build ${build_s} s, tests ${test_s} s (ctest gave no summary, exit $rc)")
    fi
}

run_start="$(now)"
banner "dependencies"
t0="$(now)"
bash scripts/install-deps.sh build data mpi fuzz
timings+=("dependencies: $(elapsed "$t0") s")

run_phase release "$root/build/release" \
    -DCMAKE_BUILD_TYPE=Release -DSTRATA_USE_OPENMP=ON -DSTRATA_TEST_SCALE=full

if [[ "${STRATA_SKIP_SANITIZE:-0}" == 1 ]]; then
    banner "asan: skipped (STRATA_SKIP_SANITIZE=1)"
    timings+=("asan: skipped")
else
    # Also proves the library builds and passes without OpenMP. -O1 -g1 keeps the sanitizer build and its
    # stack traces affordable. The whole-model tests run at STRATA_TEST_SCALE=small, which labels them "small"
    # instead of "slow"; what stays "slow" here (the MPI training runs: minutes under ASan) runs in the release
    # phase only.
    # Checks of the build and the docs rather than of the code (the guide's programs, the consumer projects,
    # the compile-failure cases) run in the release phase only.
    # The recipe smoke runs (label "recipe": does each model family's default recipe still train) check numerics,
    # not memory safety, and cost 113 s under ASan: Release phase only.
    ctest_args=(-LE 'slow|consumer|compile_fail|recipe')
    # Compiled by clang when it is there (install-deps' fuzz set brings it): its ASan+UBSan build of the suite
    # takes about 60% of GCC's CPU time, and a second compiler's warnings and diagnostics come with it.
    sanitize_cxx="${STRATA_SANITIZE_CXX:-$(command -v clang++ || echo c++)}"
    sanitize_cc="${STRATA_SANITIZE_CC:-$(command -v clang || echo cc)}"
    run_phase asan "$root/build/asan" -DCMAKE_CXX_COMPILER="$sanitize_cxx" -DCMAKE_C_COMPILER="$sanitize_cc" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
        -DSTRATA_SANITIZE=ON -DSTRATA_USE_OPENMP=OFF -DSTRATA_BUILD_BENCHMARKS=OFF -DSTRATA_TEST_SCALE=small \
        -DSTRATA_TEST_GUIDE=OFF
    ctest_args=()
fi

# ThreadSanitizer: only the serving-from-several-threads test (a minute or two of build on 2 cores). TSan and
# OpenMP's runtime do not mix, and the serving rules are about the user's threads, so OpenMP is off.
if [[ "${STRATA_SKIP_TSAN:-0}" == 1 ]]; then
    timings+=("tsan: skipped")
else
    ctest_args=(-L threads)
    build_target=strata_thread_tests
    TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}" run_phase tsan "$root/build/tsan" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
        -DSTRATA_SANITIZE_THREAD=ON -DSTRATA_USE_OPENMP=OFF -DSTRATA_BUILD_BENCHMARKS=OFF \
        -DSTRATA_BUILD_EXAMPLES=OFF
    ctest_args=()
    build_target=""
fi

# A bounded run of every libFuzzer harness (fuzz/run.sh, which builds them once and runs STRATA_FUZZ_PARALLEL at
# a time; docs/fuzzing.md has the longer runs). Each harness counts as one test, from the result line run.sh
# leaves in build/fuzz/logs/<harness>.result (none: the build failed or the harness did not finish).
if [[ "${STRATA_SKIP_FUZZ:-0}" == 1 ]]; then
    timings+=("fuzz: skipped")
else
    : "${STRATA_FUZZ_SECONDS:=20}" "${STRATA_FUZZ_PARALLEL:=$jobs}"
    banner "fuzz: ${STRATA_FUZZ_SECONDS} s per harness, ${STRATA_FUZZ_PARALLEL} at a time"
    t0="$(now)"
    harnesses=(idx_fuzz idx_gz_fuzz cifar10_fuzz checkpoint_fuzz npz_fuzz)
    for harness in "${harnesses[@]}"; do rm -f "$root/build/fuzz/logs/$harness.result"; done
    STRATA_FUZZ_SECONDS="$STRATA_FUZZ_SECONDS" STRATA_FUZZ_PARALLEL="$STRATA_FUZZ_PARALLEL" \
        STRATA_FUZZ_JOBS="$jobs" bash fuzz/run.sh "${harnesses[@]}" || true
    fuzz_failed=0
    for harness in "${harnesses[@]}"; do
        result="$root/build/fuzz/logs/$harness.result"
        if [[ -f "$result" && "$(cat "$result")" == *", ok" ]]; then
            total_passed=$((total_passed + 1))
        else
            echo "fuzz: $harness FAILED" >&2
            total_failed=$((total_failed + 1))
            fuzz_failed=$((fuzz_failed + 1))
        fi
    done
    timings+=("fuzz: $(elapsed "$t0") s ($((${#harnesses[@]} - fuzz_failed)) passed, $fuzz_failed failed)")
fi

banner "timings"
for t in "${timings[@]}"; do echo "  $t"; done
echo "  total: $(elapsed "$run_start") s"
echo "${total_passed} passed, ${total_failed} failed"
[[ $total_failed -eq 0 ]]
