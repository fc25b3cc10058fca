// conv2d throughput at the shapes of a ResNet-18 on 1x28x28 inputs (batch 64, float): the 7x7 stride-2 stem
// on 28x28, then the 3x3 convolutions of each stage after the 3/2/1 max pool (7x7 -> 4x4 -> 2x2 -> 1x1) and the
// 1x1 stride-2 projections; and the 3x3 convolutions of the thin CIFAR-style nets (16 and 32 channels on
// 28x28 and 14x14). Reports GFLOP/s counting 2*N*Cout*Ho*Wo*Cin*k*k per forward and three times that
// for forward + backward (input, weight and no-bias gradients). Threads: set OMP_NUM_THREADS; the batch: set
// STRATA_BENCH_BATCH (default 64), e.g. 32 on 1 thread to compare with each thread's half of a batch of 64.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_env.hpp"
#include "strata/ops/conv2d.hpp"

using namespace strata;

namespace {

struct ConvShape {
    const char* name;
    index_t cin, cout, size, kernel, stride, padding;
};

/// The batch: STRATA_BENCH_BATCH when set to a positive count, else 64.
const index_t batch = bench::env_count("conv2d_bench", "STRATA_BENCH_BATCH", 64);

const ConvShape shapes[] = {
    {"stem_1to64_k7s2p3_28x28", 1, 64, 28, 7, 2, 3},
    {"s1_64to64_k3s1p1_7x7", 64, 64, 7, 3, 1, 1},
    {"s2_64to128_k3s2p1_7x7", 64, 128, 7, 3, 2, 1},
    {"s2_128to128_k3s1p1_4x4", 128, 128, 4, 3, 1, 1},
    {"s3_128to256_k3s2p1_4x4", 128, 256, 4, 3, 2, 1},
    {"s3_256to256_k3s1p1_2x2", 256, 256, 2, 3, 1, 1},
    {"s4_256to512_k3s2p1_2x2", 256, 512, 2, 3, 2, 1},
    {"s4_512to512_k3s1p1_1x1", 512, 512, 1, 3, 1, 1},
    {"proj_64to128_k1s2_7x7", 64, 128, 7, 1, 2, 0},
    {"proj_128to256_k1s2_4x4", 128, 256, 4, 1, 2, 0},
    {"proj_256to512_k1s2_2x2", 256, 512, 2, 1, 2, 0},
    // the thin CIFAR-style nets (resnet20 .. plain110) on 28x28: 16, 32 and 64 channels on 28x28, 14x14, 7x7
    {"thin1_16to16_k3s1p1_28x28", 16, 16, 28, 3, 1, 1},
    {"thin2_16to32_k3s2p1_28x28", 16, 32, 28, 3, 2, 1},
    {"thin2_32to32_k3s1p1_14x14", 32, 32, 14, 3, 1, 1},
};

/// Random parameters standing in for the input and weight (Parameters: no copy per step, and backward
/// computes both of their gradients).
struct ConvSetup {
    Parameter<float> x, w;
    Tensor<float> seed;
    double forward_flops;

    explicit ConvSetup(const ConvShape& s) {
        Generator gen(42);
        x = Parameter<float>(Tensor<float>(Shape{batch, s.cin, s.size, s.size}));
        x.value.fill_normal(gen);
        w = Parameter<float>(Tensor<float>(Shape{s.cout, s.cin, s.kernel, s.kernel}));
        w.value.fill_normal(gen, 0.0, 0.05);
        const index_t out = (s.size + 2 * s.padding - s.kernel) / s.stride + 1;
        seed = Tensor<float>(Shape{batch, s.cout, out, out});
        seed.fill_normal(gen);
        forward_flops = 2.0 * static_cast<double>(batch * s.cout * out * out * s.cin * s.kernel * s.kernel);
    }
};

void conv_forward(benchmark::State& state, const ConvShape& s) {
    ConvSetup setup(s);
    Tape tape;
    const Conv2dParams params{s.stride, s.padding};
    for (auto _ : state) {
        tape.rewind();
        NoGradGuard no_grad(tape);
        Var<float> y = conv2d(tape.parameter(setup.x), tape.parameter(setup.w), params);
        benchmark::DoNotOptimize(y.value().data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] = benchmark::Counter(setup.forward_flops * 1e-9 * static_cast<double>(state.iterations()),
                                                   benchmark::Counter::kIsRate);
}

void conv_forward_backward(benchmark::State& state, const ConvShape& s) {
    ConvSetup setup(s);
    Tape tape;
    const Conv2dParams params{s.stride, s.padding};
    for (auto _ : state) {
        tape.rewind();
        Var<float> y = conv2d(tape.parameter(setup.x), tape.parameter(setup.w), params);
        tape.backward(y, setup.seed.view());
        benchmark::DoNotOptimize(setup.w.grad().data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] = benchmark::Counter(
        3.0 * setup.forward_flops * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

const bool registered = [] {
    for (const ConvShape& s : shapes) {
        benchmark::RegisterBenchmark((std::string("conv2d_forward/") + s.name).c_str(), conv_forward, s)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark((std::string("conv2d_forward_backward/") + s.name).c_str(),
                                     conv_forward_backward, s)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
    }
    return true;
}();

}  // namespace
