// Peak FP32 multiply-add throughput of one core, per instruction set: AVX-512 and AVX2+FMA (each compiled
// with its target attribute and run when this CPU supports it, whatever flags the program is built with,
// like strata's kernels) and the build's own baseline (SSE2 mul + add in a portable build). 12 independent
// chains of vector FMAs (enough to hide the FMA latency on two FMA ports). Reports GFLOP/s (an FMA counts 2):
// the ceiling against which docs/performance.md puts strata's and PyTorch's convolution throughput.

#include <benchmark/benchmark.h>

#include <immintrin.h>

#include "strata/core/cpu_features.hpp"

namespace {

constexpr int kChains = 12, kRounds = 1000;

/// Runs the chains `iterations` times; returns one lane of the result so nothing is optimised away.
#if STRATA_X86_KERNELS
STRATA_TARGET_AVX512 float chains_avx512(benchmark::IterationCount iterations) {
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    __m512 acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
    for (benchmark::IterationCount it = 0; it < iterations; ++it) {
        for (int r = 0; r < kRounds; ++r)
            for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
        for (int i = 0; i < kChains; ++i) benchmark::DoNotOptimize(acc[i]);
    }
    float sink = 0;
    for (int i = 0; i < kChains; ++i) sink += _mm512_cvtss_f32(acc[i]);
    return sink;
}

STRATA_TARGET_AVX2 float chains_avx2(benchmark::IterationCount iterations) {
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    __m256 acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
    for (benchmark::IterationCount it = 0; it < iterations; ++it) {
        for (int r = 0; r < kRounds; ++r)
            for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
        for (int i = 0; i < kChains; ++i) benchmark::DoNotOptimize(acc[i]);
    }
    float sink = 0;
    for (int i = 0; i < kChains; ++i) sink += _mm256_cvtss_f32(acc[i]);
    return sink;
}
#endif

float chains_baseline(benchmark::IterationCount iterations) {
    const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
    __m128 acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm_set1_ps(static_cast<float>(i));
    for (benchmark::IterationCount it = 0; it < iterations; ++it) {
        for (int r = 0; r < kRounds; ++r)
            for (int i = 0; i < kChains; ++i) acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], a), b);
        for (int i = 0; i < kChains; ++i) benchmark::DoNotOptimize(acc[i]);
    }
    float sink = 0;
    for (int i = 0; i < kChains; ++i) sink += _mm_cvtss_f32(acc[i]);
    return sink;
}

/// One benchmark per instruction set: `lanes` floats per vector, `chains` the kernel.
void peak_fma(benchmark::State& state, int lanes, float (*chains)(benchmark::IterationCount)) {
    float sink = 0;
    for (auto _ : state) sink += chains(1);
    benchmark::DoNotOptimize(sink);
    state.counters["GFLOP/s"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * kRounds * kChains * lanes * 2.0, benchmark::Counter::kIsRate,
        benchmark::Counter::kIs1000);
}

[[maybe_unused]] const bool registered = [] {
#if STRATA_X86_KERNELS
    if (strata::cpu_supports(strata::Isa::avx512))
        benchmark::RegisterBenchmark("peak_fma/avx512", peak_fma, 16, chains_avx512)->Unit(benchmark::kMicrosecond);
    if (strata::cpu_supports(strata::Isa::avx2))
        benchmark::RegisterBenchmark("peak_fma/avx2_fma", peak_fma, 8, chains_avx2)->Unit(benchmark::kMicrosecond);
#endif
    // SSE2 has no FMA: a multiply and an add per lane and step, counted as 2 flops like an FMA.
    benchmark::RegisterBenchmark("peak_fma/sse2_mul_add", peak_fma, 4, chains_baseline)->Unit(benchmark::kMicrosecond);
    return true;
}();

}  // namespace
