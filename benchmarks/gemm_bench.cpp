// detail::gemm, one thread, on the GEMM shapes of the ResNet-18 workload (1x28x28 inputs, batch 64; see
// /work/shared/peers/gemm_backends.cpp for the same shapes on Eigen, OpenBLAS and LIBXSMM), once per kernel
// family the CPU supports. Reports GFLOP/s ("GFLOP/s", 2 m n k per call) and the family in the label:
//   gemm/<shape>/<isa>   e.g. gemm/l1_fwd/avx512
// Shapes (row-major C [m x n] = op(A) op(B), as conv2d calls them): forward W [Cout x K] * col [K x cols];
// weight gradient dY [Cout x cols] * col^T; input gradient W^T [K x Cout] * dY [Cout x cols].
//   build/release/benchmarks/gemm_bench --benchmark_repetitions=3

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "strata/core/aligned.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/ops/detail/gemm.hpp"

using namespace strata;

namespace {

struct GemmShape {
    const char* name;
    index_t m, n, k;
    bool trans_a, trans_b;
};

const GemmShape shapes[] = {
    {"stem_fwd", 64, 12544, 49, false, false},     // 7x7/2 stem, 1->64 on 14x14 maps, 64 images per GEMM
    {"l1_fwd", 64, 3136, 576, false, false},       // 3x3 64->64 on 7x7 maps, 64 images
    {"l2_fwd", 128, 1024, 1152, false, false},     // 3x3 128->128 on 4x4 maps
    {"l3_fwd", 256, 256, 2304, false, false},      // 3x3 256->256 on 2x2 maps
    {"l4_fwd", 512, 64, 512, false, false},        // 3x3 512->512 on 1x1 maps (centre tap only)
    {"l1_dw", 64, 576, 3136, false, true},         // weight gradient of layer1's 3x3
    {"l1_dx", 576, 3136, 64, true, false},         // input gradient (dcol) of layer1's 3x3
    {"l3_dx", 2304, 256, 256, true, false},        // input gradient (dcol) of layer3's 3x3
    {"fc_fwd", 64, 10, 512, false, true},          // the classifier, batch 64
    {"c1_fwd", 16, 784, 144, false, false},        // CIFAR-style stage 1: 3x3 16->16 on 28x28 maps, 1 image
    {"c1_dw", 16, 144, 784, false, true},          // its weight gradient
};

template <class T>
void run_gemm(benchmark::State& state, GemmShape s, Isa isa) {
    const Isa previous = set_isa(isa);
    const index_t ar = s.trans_a ? s.k : s.m, ac = s.trans_a ? s.m : s.k;
    const index_t br = s.trans_b ? s.n : s.k, bc = s.trans_b ? s.k : s.n;
    std::mt19937 rng(1);
    std::uniform_real_distribution<T> u(T(-1), T(1));
    std::vector<T> a(static_cast<std::size_t>(ar * ac)), b(static_cast<std::size_t>(br * bc));
    std::vector<T> c(static_cast<std::size_t>(s.m * s.n));
    for (auto& x : a) x = u(rng);
    for (auto& x : b) x = u(rng);
    detail::GemmBlocking<T> blocking(s.m, s.n, s.k);
    const auto scratch = detail::make_aligned_buffer<T>(static_cast<std::size_t>(blocking.scratch_size()));
    blocking.attach(scratch.get());
    for (auto _ : state) {
        detail::gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, a.data(), ac, b.data(), bc, c.data(), s.n, false, blocking);
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(s.m * s.n * s.k) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(std::string(isa_name(isa)) + (sizeof(T) == 4 ? " float" : " double"));
    set_isa(previous);
}

const int registered = [] {
    for (const GemmShape& s : shapes)
        for (Isa isa : {Isa::avx512, Isa::avx2, Isa::generic}) {
            if (!cpu_supports(isa)) continue;
            benchmark::RegisterBenchmark((std::string("gemm/") + s.name + "/" + isa_name(isa)).c_str(),
                                         [s, isa](benchmark::State& st) { run_gemm<float>(st, s, isa); });
        }
    for (Isa isa : {Isa::avx512, Isa::avx2, Isa::generic}) {  // one double shape per family
        if (!cpu_supports(isa)) continue;
        const GemmShape& s = shapes[1];
        benchmark::RegisterBenchmark((std::string("gemm_double/") + s.name + "/" + isa_name(isa)).c_str(),
                                     [s, isa](benchmark::State& st) { run_gemm<double>(st, s, isa); });
    }
    return 0;
}();

}  // namespace
