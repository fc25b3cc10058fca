#!/usr/bin/env bash
# Builds strata's libFuzzer harnesses (clang++, -fsanitize=fuzzer,address,undefined) in build/fuzz and runs each
# for STRATA_FUZZ_SECONDS seconds (default 60), STRATA_FUZZ_PARALLEL of them at a time (default 1), then prints
# executions and coverage per harness. Exits non-zero if any harness crashes, leaks, times out or runs out of
# memory; the reproducer is left in build/fuzz/crashes/<harness>/ and the log in build/fuzz/logs/<harness>.log.
# The summary has one line per harness, "<harness>: executions ..., ok" or "<harness>: ..., FAILED (...)", which
# scripts/test.sh counts as one test each.
#
# Usage: fuzz/run.sh [harness ...]      (default: all of them)
# Env:   STRATA_FUZZ_SECONDS (60), STRATA_FUZZ_PARALLEL (harnesses run at once, 1), STRATA_FUZZ_JOBS (build
#        parallelism, 2), CXX (clang++), STRATA_FUZZ_DIRECT=1 to build with a plain clang++ command line instead
#        of CMake (used automatically when the top-level CMakeLists.txt has no STRATA_FUZZ option).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build/fuzz"
seconds="${STRATA_FUZZ_SECONDS:-60}"
jobs="${STRATA_FUZZ_JOBS:-2}"
parallel="${STRATA_FUZZ_PARALLEL:-1}"
cxx="${CXX:-clang++}"
all=(idx_fuzz idx_gz_fuzz cifar10_fuzz checkpoint_fuzz npz_fuzz)
if [ $# -gt 0 ]; then harnesses=("$@"); else harnesses=("${all[@]}"); fi

mkdir -p "$build/bin" "$build/logs"

if [ "${STRATA_FUZZ_DIRECT:-}" != 1 ] && grep -q 'STRATA_FUZZ' "$root/CMakeLists.txt"; then
  cmake -S "$root" -B "$build/cmake" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$cxx" -DSTRATA_FUZZ=ON \
        -DSTRATA_BUILD_TESTS=OFF -DSTRATA_BUILD_EXAMPLES=OFF -DSTRATA_BUILD_BENCHMARKS=OFF -DSTRATA_INSTALL=OFF \
        >"$build/logs/configure.log"
  cmake --build "$build/cmake" -j"$jobs" --target "${harnesses[@]}"
  for h in "${harnesses[@]}"; do cp "$build/cmake/fuzz/$h" "$build/bin/$h"; done
else
  echo "run.sh: building with $cxx directly (top-level STRATA_FUZZ option not found or STRATA_FUZZ_DIRECT=1)"
  eigen="$(pkg-config --cflags-only-I eigen3 2>/dev/null || echo -I/usr/include/eigen3)"
  flags=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
         -fno-sanitize-recover=undefined -Wall -Wextra -Wpedantic -I"$root/include" $eigen -DSTRATA_HAS_ZLIB=1)
  pids=()
  for h in "${harnesses[@]}"; do
    "$cxx" "${flags[@]}" "$root/fuzz/$h.cpp" -o "$build/bin/$h" -lz &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  done
  for p in "${pids[@]}"; do wait "$p"; done
fi

# run_one HARNESS: runs one harness, prints its result line and writes it to build/fuzz/logs/HARNESS.result.
run_one() {
  local h="$1" corpus crashes log extra rc execs rss cov corp result line
  corpus="$build/corpus/$h"          # grows as libFuzzer finds new coverage
  crashes="$build/crashes/$h"
  mkdir -p "$corpus" "$crashes"
  log="$build/logs/$h.log"
  echo "== $h: ${seconds}s"
  extra=()
  # CIFAR-10 records are 3073 bytes: start at a length that allows two of them, not libFuzzer's slow ramp-up.
  if [ "$h" = cifar10_fuzz ]; then extra=(-max_len=7000 -len_control=0); fi
  rc=0
  "$build/bin/$h" "$corpus" "$root/fuzz/corpus/$h" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$crashes/" ${extra[@]+"${extra[@]}"} >"$log" 2>&1 || rc=$?
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  rss="$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  cov="$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)"
  corp="$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 || true)"
  if [ "$rc" -eq 0 ]; then
    result="ok"
  else
    result="FAILED (exit $rc; reproducer in $crashes/, log $log)"
    grep -E 'ERROR: |SUMMARY: |==[0-9]+==|#[0-9]+ 0x' "$log" | head -25 || true
  fi
  line="$h: executions ${execs:-?}, ${cov:-cov: ?}, ${corp:-corp: ?}, peak RSS ${rss:-?} MB, $result"
  echo "$line"
  echo "$line" >"$build/logs/$h.result"
}

running=0
for h in "${harnesses[@]}"; do
  rm -f "$build/logs/$h.result"
  if [ "$parallel" -le 1 ]; then
    run_one "$h"
  else
    if [ "$running" -ge "$parallel" ]; then wait -n || true; running=$((running - 1)); fi
    run_one "$h" &
    running=$((running + 1))
  fi
done
wait || true

status=0
echo
echo "== summary (${seconds}s each, $parallel at a time)"
for h in "${harnesses[@]}"; do
  if [ -f "$build/logs/$h.result" ]; then
    line="$(cat "$build/logs/$h.result")"
  else
    line="$h: FAILED (no result; log $build/logs/$h.log)"
  fi
  echo "$line"
  case "$line" in *", ok") ;; *) status=1 ;; esac
done
exit "$status"
