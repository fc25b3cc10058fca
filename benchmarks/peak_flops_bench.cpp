// Peak FP32 multiply-add throughput of one core with the instruction set this build targets (AVX-512,
// AVX2+FMA, or SSE2 for a portable build): 12 independent chains of vector FMAs (enough to hide the FMA
// latency on two FMA ports). Reports GFLOP/s (an FMA counts 2). The ceiling against which
// docs/performance.md puts strata's and PyTorch's convolution throughput.

#include <benchmark/benchmark.h>

#include <immintrin.h>

namespace {

#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kLanes = 16;
inline Vec splat(float v) { return _mm512_set1_ps(v); }
inline Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline float first(Vec v) { return _mm512_cvtss_f32(v); }
constexpr const char* kIsa = "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
using Vec = __m256;
constexpr int kLanes = 8;
inline Vec splat(float v) { return _mm256_set1_ps(v); }
inline Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline float first(Vec v) { return _mm256_cvtss_f32(v); }
constexpr const char* kIsa = "avx2+fma";
#else
using Vec = __m128;
constexpr int kLanes = 4;
inline Vec splat(float v) { return _mm_set1_ps(v); }
inline Vec fma(Vec a, Vec b, Vec c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }  // SSE2: mul + add
inline float first(Vec v) { return _mm_cvtss_f32(v); }
constexpr const char* kIsa = "sse2 (mul+add)";
#endif

void peak_fma(benchmark::State& state) {
    constexpr int kChains = 12, kRounds = 1000;
    const Vec a = splat(0.999999f), b = splat(1e-7f);
    Vec acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = splat(static_cast<float>(i));
    for (auto _ : state) {
        for (int r = 0; r < kRounds; ++r)
            for (int i = 0; i < kChains; ++i) acc[i] = fma(acc[i], a, b);
        for (int i = 0; i < kChains; ++i) benchmark::DoNotOptimize(acc[i]);
    }
    float sink = 0;
    for (int i = 0; i < kChains; ++i) sink += first(acc[i]);
    benchmark::DoNotOptimize(sink);
    state.counters["GFLOP/s"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * kRounds * kChains * kLanes * 2.0, benchmark::Counter::kIsRate,
        benchmark::Counter::kIs1000);
    state.SetLabel(kIsa);
}

}  // namespace

BENCHMARK(peak_fma)->Unit(benchmark::kMicrosecond);

