// The non-convolution ops of a ResNet-18 on 1x28x28 inputs (batch 64, float), at the activation shapes of the
// PyTorch peer workload: [64,64,14,14] after the stem conv, [64,64,7,7] in stage 1, [64,128,4,4] in stage 2,
// [64,256,2,2] in stage 3 and [64,512,1,1] in stage 4. Plus the Eigen GEMM that dominates a conv, and the
// tape's fixed cost per op. Threads: set OMP_NUM_THREADS (the GEMM cases take the thread count as argument).
//
//   <op>_forward/<shape>            forward only, under NoGradGuard (batch_norm in training mode)
//   <op>_forward_backward/<shape>   forward + tape.backward with a fixed random seed gradient
//        ops: batch_norm (training mode, gamma/beta as parameters, running statistics updated), relu,
//        add (two inputs of the same shape), max_pool2d (3x3, stride 2, padding 1: the stem's pool, only at
//        the stem's shape). Counter "elem/s": input elements processed per second.
//   gemm/<M>x<K>x<N>/threads:<T>    Eigen row-major C = A * B of the im2col GEMM of a 3x3 conv (M = Cout,
//        K = Cin*9, N = images * Ho*Wo), counter "GFLOP/s" = 2*M*K*N per second.
//   tape_overhead/...               a chain of 64 adds of two [4] tensors: counter "time/op" (seconds per op,
//        printed as e.g. "115n"), with record + backward (record_backward) or forward under NoGradGuard (no_grad).
//   optimizer_step/<optimizer>      one step of an optimizer over ResNet-18's 11.2 million weights (one tensor per
//        layer, the model's sizes), momentum / weight decay as the trainer's recipes use them. Counter "elem/s".

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "strata/ops/add.hpp"
#include "strata/ops/batch_norm.hpp"
#include "strata/ops/max_pool2d.hpp"
#include "strata/ops/relu.hpp"
#include "strata/optim/adam.hpp"
#include "strata/optim/rmsprop.hpp"
#include "strata/optim/sgd.hpp"

using namespace strata;

namespace {

struct ActShape {
    const char* name;
    index_t n, c, h, w;
};

const ActShape shapes[] = {
    {"64x64x14x14", 64, 64, 14, 14}, {"64x64x7x7", 64, 64, 7, 7}, {"64x128x4x4", 64, 128, 4, 4},
    {"64x256x2x2", 64, 256, 2, 2},   {"64x512x1x1", 64, 512, 1, 1},
};

/// The inputs of one elementwise/normalisation case: two input parameters, BN's gamma/beta and running
/// statistics, and a seed gradient of the output's shape.
struct OpSetup {
    Parameter<float> a, b, gamma, beta;
    Tensor<float> running_mean, running_var, seed;

    OpSetup(const ActShape& s, const Shape& out_shape) {
        Generator gen(7);
        const Shape shape{s.n, s.c, s.h, s.w};
        a = Parameter<float>(Tensor<float>(shape));
        a.value.fill_normal(gen);
        b = Parameter<float>(Tensor<float>(shape));
        b.value.fill_normal(gen);
        gamma = Parameter<float>(Tensor<float>(Shape{s.c}, 1.0f));
        beta = Parameter<float>(Tensor<float>(Shape{s.c}, 0.0f));
        running_mean = Tensor<float>(Shape{s.c}, 0.0f);
        running_var = Tensor<float>(Shape{s.c}, 1.0f);
        seed = Tensor<float>(out_shape);
        seed.fill_normal(gen);
    }
};

enum class Op { batch_norm, relu, add, max_pool2d };

Shape output_shape(Op op, const ActShape& s) {
    if (op == Op::max_pool2d) return Shape{s.n, s.c, (s.h + 2 - 3) / 2 + 1, (s.w + 2 - 3) / 2 + 1};
    return Shape{s.n, s.c, s.h, s.w};
}

Var<float> apply(Op op, Tape& tape, OpSetup& setup) {
    Var<float> x = tape.parameter(setup.a);
    switch (op) {
        case Op::batch_norm:
            return batch_norm(x, tape.parameter(setup.gamma), tape.parameter(setup.beta), &setup.running_mean,
                              &setup.running_var, true);
        case Op::relu:
            return relu(x);
        case Op::add:
            return add(x, tape.parameter(setup.b));
        case Op::max_pool2d:
            return max_pool2d(x, 3, 2, 1);
    }
    return x;
}

void op_bench(benchmark::State& state, Op op, ActShape s, bool backward) {
    OpSetup setup(s, output_shape(op, s));
    Tape tape;
    for (auto _ : state) {
        tape.rewind();
        if (backward) {
            Var<float> y = apply(op, tape, setup);
            tape.backward(y, setup.seed.view());
            benchmark::DoNotOptimize(setup.a.grad().data());
        } else {
            NoGradGuard no_grad(tape);
            Var<float> y = apply(op, tape, setup);
            benchmark::DoNotOptimize(y.value().data());
        }
        benchmark::ClobberMemory();
    }
    const double elems = static_cast<double>(s.n * s.c * s.h * s.w) * (op == Op::add ? 2.0 : 1.0);
    state.counters["elem/s"] =
        benchmark::Counter(elems * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// C[M,N] = A[M,K] * B[K,N], as conv2d's forward GEMM (weights times the im2col matrix).
void gemm(benchmark::State& state) {
    const int threads = static_cast<int>(state.range(3));
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    Eigen::setNbThreads(threads);
    const Eigen::Index M = state.range(0), K = state.range(1), N = state.range(2);
    const RowMat a = RowMat::Random(M, K), b = RowMat::Random(K, N);
    RowMat c(M, N);
    for (auto _ : state) {
        c.noalias() = a * b;
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(M * K * N) * 1e-9 *
                                                       static_cast<double>(state.iterations()),
                                                   benchmark::Counter::kIsRate);
}

constexpr int chain = 64;

/// The tape's fixed cost: `chain` adds of [4] tensors per iteration (y = y + b), then backward.
void tape_overhead(benchmark::State& state, bool backward) {
    Generator gen(3);
    Parameter<float> a(Tensor<float>(Shape{4})), b(Tensor<float>(Shape{4}));
    a.value.fill_normal(gen);
    b.value.fill_normal(gen);
    const Tensor<float> seed(Shape{4}, 1.0f);
    Tape tape;
    auto chain_adds = [&] {
        Var<float> y = tape.parameter(a);
        const Var<float> vb = tape.parameter(b);
        for (int i = 0; i < chain; ++i) y = add(y, vb);
        return y;
    };
    for (auto _ : state) {
        tape.rewind();
        if (backward) {
            tape.backward(chain_adds(), seed.view());
            benchmark::DoNotOptimize(b.grad().data());
        } else {
            NoGradGuard no_grad(tape);
            benchmark::DoNotOptimize(chain_adds().value().data());
        }
        benchmark::ClobberMemory();
    }
    // Seconds per op (printed with an SI prefix, e.g. "115n"; in JSON as seconds).
    state.counters["time/op"] = benchmark::Counter(static_cast<double>(state.iterations()) * chain,
                                                   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

/// The weight tensors' sizes of a ResNet-18 for 10 classes on 1-channel input (conv, batch-norm and linear layers).
std::vector<index_t> resnet18_weight_sizes() {
    std::vector<index_t> sizes{64 * 1 * 7 * 7, 64, 64};
    auto conv_bn = [&](index_t cin, index_t cout, index_t k) {
        sizes.insert(sizes.end(), {cout * cin * k * k, cout, cout});
    };
    index_t cin = 64;
    for (const index_t cout : {64, 128, 256, 512}) {
        for (int block = 0; block < 2; ++block) {
            conv_bn(block == 0 ? cin : cout, cout, 3);
            conv_bn(cout, cout, 3);
            if (block == 0 && cin != cout) conv_bn(cin, cout, 1);
        }
        cin = cout;
    }
    sizes.insert(sizes.end(), {512 * 10, 10});
    return sizes;
}

enum class OptimizerKind { sgd, adam, adamw, rmsprop };

/// One optimizer step over ResNet-18-sized parameters with fixed gradients.
void optimizer_step(benchmark::State& state, OptimizerKind kind) {
    Generator gen(11);
    std::vector<Parameter<float>> params;
    index_t total = 0;
    for (const index_t n : resnet18_weight_sizes()) {
        params.emplace_back(Tensor<float>(Shape{n}));
        params.back().value.fill_normal(gen);
        params.back().grad().fill_normal(gen);
        total += n;
    }
    std::vector<Parameter<float>*> list;
    for (auto& p : params) list.push_back(&p);
    auto run = [&](auto&& opt) {
        for (auto _ : state) {
            opt.step();
            benchmark::ClobberMemory();
        }
    };
    switch (kind) {
        case OptimizerKind::sgd:
            run(optim::SGD<float>(list, optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4)));
            break;
        case OptimizerKind::adam: run(optim::Adam<float>(list, optim::AdamOptions(1e-3))); break;
        case OptimizerKind::adamw: run(optim::AdamW<float>(list, optim::AdamWOptions(1e-3))); break;
        case OptimizerKind::rmsprop:
            run(optim::RMSprop<float>(list, optim::RMSpropOptions(1e-3).momentum(0.9)));
            break;
    }
    state.counters["elem/s"] = benchmark::Counter(static_cast<double>(total) * static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

const bool registered = [] {
    const std::pair<const char*, Op> ops[] = {
        {"batch_norm", Op::batch_norm}, {"relu", Op::relu}, {"add", Op::add}, {"max_pool2d", Op::max_pool2d}};
    for (const auto& [name, op] : ops) {
        for (const ActShape& s : shapes) {
            if (op == Op::max_pool2d && s.h != 14) continue;  // the net pools once, after the stem
            for (const bool backward : {false, true}) {
                const std::string full =
                    std::string(name) + (backward ? "_forward_backward/" : "_forward/") + s.name;
                benchmark::RegisterBenchmark(full.c_str(), op_bench, op, s, backward)
                    ->Unit(benchmark::kMicrosecond)
                    ->UseRealTime();
            }
        }
    }
    // Stage 1 3x3 conv 64->64 at 7x7: K = 64*9, N = 64 images * 49 (whole batch) or 49 (one image);
    // stage 3 3x3 conv 256->256 at 2x2: K = 256*9, N = 64 * 4.
    benchmark::RegisterBenchmark("gemm", gemm)
        ->ArgNames({"M", "K", "N", "threads"})
        ->Args({64, 576, 3136, 1})
        ->Args({64, 576, 3136, 2})
        ->Args({64, 576, 49, 1})
        ->Args({256, 2304, 256, 1})
        ->Args({256, 2304, 256, 2})
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("tape_overhead/add_4/record_backward", tape_overhead, true)->UseRealTime();
    benchmark::RegisterBenchmark("tape_overhead/add_4/no_grad", tape_overhead, false)->UseRealTime();
    const std::pair<const char*, OptimizerKind> optimizers[] = {{"sgd_momentum", OptimizerKind::sgd},
                                                                {"adam", OptimizerKind::adam},
                                                                {"adamw", OptimizerKind::adamw},
                                                                {"rmsprop_momentum", OptimizerKind::rmsprop}};
    for (const auto& [name, kind] : optimizers)
        benchmark::RegisterBenchmark((std::string("optimizer_step/") + name).c_str(), optimizer_step, kind)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    return true;
}();

}  // namespace
