// One BasicBlock of a ResNet-18 on 1x28x28 inputs (batch 64, float, training mode): forward + backward of
// stage 1's 64->64 block at 7x7 with Shortcut::projection (which for equal shapes is the identity: the block
// adds its input) against Shortcut::none (the plain twin: no add), so the difference is the cost of the skip
// connection itself. Also stage 2's first block, 64->128 at 7x7 with stride 2, where projection means a real
// 1x1/2 conv + BN shortcut. Counter "img/s": images per second. Threads: set OMP_NUM_THREADS.
//
//   block_forward_backward/<in>to<out>_s<stride>_<size>x<size>/<projection|none>

#include <benchmark/benchmark.h>

#include <string>

#include "strata/nn/residual.hpp"

using namespace strata;

namespace {

constexpr index_t batch = 64;

struct BlockCase {
    const char* name;
    index_t in, out, stride, size;
};

const BlockCase cases[] = {
    {"64to64_s1_7x7", 64, 64, 1, 7},
    {"64to128_s2_7x7", 64, 128, 2, 7},
};

void block_forward_backward(benchmark::State& state, BlockCase c, nn::Shortcut shortcut) {
    nn::BasicBlock<float> block(nn::BlockOptions(c.in, c.out).stride(c.stride).shortcut(shortcut));
    block.train();
    Generator gen(11);
    // The input as a parameter, so that backward also computes the input gradient (as inside a net).
    Parameter<float> x(Tensor<float>(Shape{batch, c.in, c.size, c.size}));
    x.value.fill_normal(gen);
    const index_t out_size = (c.size - 1) / c.stride + 1;
    Tensor<float> seed(Shape{batch, c.out, out_size, out_size});
    seed.fill_normal(gen);
    Tape tape;
    auto step = [&] {
        tape.rewind();
        block.zero_grad();
        x.zero_grad();
        tape.backward(block(tape.parameter(x)), seed.view());
    };
    step();  // warm-up: arena growth
    for (auto _ : state) {
        step();
        benchmark::DoNotOptimize(x.grad().data());
        benchmark::ClobberMemory();
    }
    state.counters["img/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}

const bool registered = [] {
    const std::pair<const char*, nn::Shortcut> shortcuts[] = {{"projection", nn::Shortcut::projection},
                                                              {"none", nn::Shortcut::none}};
    for (const BlockCase& c : cases)
        for (const auto& [name, shortcut] : shortcuts)
            benchmark::RegisterBenchmark((std::string("block_forward_backward/") + c.name + "/" + name).c_str(),
                                         block_forward_backward, c, shortcut)
                ->Unit(benchmark::kMicrosecond)
                ->UseRealTime();
    return true;
}();

}  // namespace
