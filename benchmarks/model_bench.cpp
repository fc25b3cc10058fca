// Whole-model throughput of ResNet-18 and Plain-18 on 1x28x28 inputs (10 classes, float): the workload of the
// PyTorch peer /work/shared/peers/torch_resnet18.py, so that benchmarks/compare_peer.py can put the two side by
// side. Reports images/s ("img/s", a rate over items processed) for
//   model_train/<net>/batch:<B>/threads:<T>  one SGD-momentum training step: rewind, forward, cross-entropy,
//                                            zero_grad, backward, step (as the peer's training loop)
//   model_infer/<net>/batch:<B>/threads:<T>  one forward in eval mode under NoGradGuard
//   cifar_train/<net>/..., cifar_infer/<net>/...  the same for the CIFAR-style resnet20 and its plain twin plain20
//                                            (16-64 channels on 28x28-7x7 maps: small GEMMs, memory-bound ops;
//                                            named apart so that compare_peer.py, which has no peer for them,
//                                            leaves them out)
//   scaling_train/<net>/batch:<B>            1 -> 2 thread scaling of the training step, measured in pairs of
//                                            steps (one on each thread count) so that host load drifts cancel:
//                                            medians ms_1t, ms_2t and x2 (the pairs' ratio)
//   halves_train/<net>/batch:<B>             the same pairs against the ceiling of splitting the batch alone: two
//                                            independent 1-thread steps of half the batch, run at once on two
//                                            threads (nothing shared): medians ms_1t, ms_2t, ms_halves, x2 and
//                                            x2_halves (1-thread step / halves step)
//   cores_train/<net>/batch:<B>              (Linux, 2 or more CPUs) how fast each of the first two CPUs runs the
//                                            step on one thread (pinned to it), against the 2-thread step, in
//                                            rounds of three steps: medians ms_cpu0, ms_cpu1, ms_2t, and
//                                            efficiency, the 2-thread rate over the sum of the two 1-thread
//                                            rates (1 = perfect use of two cores that may not run at one speed)
// at 1 and 2 threads (OpenMP and Eigen). The batch is 64 unless the environment variable STRATA_BENCH_BATCH
// says otherwise; STRATA_BENCH_ITERS fixes the number of timed steps (default: Google Benchmark decides).
// Each case runs two untimed warm-up steps first (arena growth, optimizer state), as the peer runs three.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench_env.hpp"
#include "model_workload.hpp"

#ifdef __linux__
#include <sched.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

using namespace strata;
using namespace strata::bench;

namespace {

/// The median of `v` (0 when empty).
double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

void model_train(benchmark::State& state, Net net, index_t batch) {
    set_threads(static_cast<int>(state.range(0)));
    TrainStep step(net, batch);
    for (int i = 0; i < 2; ++i) step();
    for (auto _ : state) {
        Var<float> loss = step();
        benchmark::DoNotOptimize(loss.value().data());
        benchmark::ClobberMemory();
    }
    state.counters["img/s"] = benchmark::Counter(static_cast<double>(state.iterations() * batch),
                                                 benchmark::Counter::kIsRate);
    state.counters["batch"] = static_cast<double>(batch);
}

/// Thread scaling of a training step measured in pairs: every iteration times one step on 1 thread and one on
/// 2 (alternating which goes first, each after an untimed step on the same count), so that both see the same
/// host load; a shared machine's speed drifts by
/// 10-40% within seconds, which separate 1- and 2-thread runs turn into scaling figures from 1.1x to 1.9x.
/// Reports the medians of the 1-thread step, the 2-thread step and of the pairs' ratios ("x2").
void scaling_train(benchmark::State& state, Net net, index_t batch) {
    TrainStep train_step(net, batch);
    auto step = [&](int threads) {
        set_threads(threads);
        const auto start = std::chrono::steady_clock::now();
        Var<float> loss = train_step();
        benchmark::DoNotOptimize(loss.value().data());
        benchmark::ClobberMemory();
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    };
    // A step right after a switch of thread count finds the other core's cache cold: each timed step follows
    // an untimed one on the same thread count.
    auto timed_step = [&](int threads) {
        step(threads);
        return step(threads);
    };
    for (int i = 0; i < 2; ++i) step(1 + i % 2);
    std::vector<double> one, two, ratio;
    for (auto _ : state) {
        const bool one_first = one.size() % 2 == 0;
        const double a = timed_step(one_first ? 1 : 2);
        const double b = timed_step(one_first ? 2 : 1);
        one.push_back(one_first ? a : b);
        two.push_back(one_first ? b : a);
        ratio.push_back(one.back() / two.back());
    }
    state.counters["ms_1t"] = median(one);
    state.counters["ms_2t"] = median(two);
    state.counters["x2"] = median(ratio);
    state.counters["batch"] = static_cast<double>(batch);
}

/// Times one round of three settings, timed(0), timed(1), timed(2), starting with setting `round` % 3 so that
/// the order rotates from round to round; got[s] is setting s's time.
template <class Timed>
void rotating_round(int round, Timed&& timed, double (&got)[3]) {
    for (int k = 0; k < 3; ++k) {
        const int setting = (round + k) % 3;
        got[setting] = timed(setting);
    }
}

/// The ceiling a 2-thread step could reach by splitting the batch alone: each round times a 1-thread step of the
/// whole batch, a 2-thread step, and two independent 1-thread steps of half the batch each, run at the same time
/// on two threads (two models, two optimizers, two tapes: no data shared, no synchronisation but the end of the
/// pair, every per-step cost that does not shrink with the batch, such as the optimizer's pass over the weights,
/// paid on both cores). Each timed step follows an untimed one in the same setting, the order rotating from
/// round to round. Medians ms_1t, ms_2t, ms_halves (the slower half's step), x2 = 1-thread / 2-thread step and
/// x2_halves = 1-thread / halves step, all from the same rounds. Needs an even batch and OpenMP.
void halves_train(benchmark::State& state, Net net, index_t batch) {
#ifdef _OPENMP
    if (batch % 2 != 0) {
        state.SkipWithError("needs an even batch");
        return;
    }
    TrainStep whole(net, batch), first_half(net, batch / 2), second_half(net, batch / 2);
    auto run_whole = [&](int threads) {
        set_threads(threads);
        Var<float> loss = whole();
        benchmark::DoNotOptimize(loss.value().data());
    };
    auto run_halves = [&] {
        // Inside this region every op finds itself in a parallel region and runs on its own thread.
#pragma omp parallel num_threads(2)
        {
            Var<float> loss = omp_get_thread_num() == 0 ? first_half() : second_half();
            benchmark::DoNotOptimize(loss.value().data());
        }
    };
    auto run = [&](int setting) {  // 0: 1 thread, 1: 2 threads, 2: the two halves
        if (setting == 2) run_halves();
        else run_whole(setting + 1);
        benchmark::ClobberMemory();
    };
    auto timed = [&](int setting) {
        run(setting);
        const auto start = std::chrono::steady_clock::now();
        run(setting);
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    };
    for (int setting = 0; setting < 3; ++setting) timed(setting);  // warm-up: arenas, optimizer state
    std::vector<double> ms[3], x2, x2_halves;
    int round = 0;
    for (auto _ : state) {
        double got[3];
        rotating_round(round++, timed, got);
        for (int k = 0; k < 3; ++k) ms[k].push_back(got[k]);
        x2.push_back(got[0] / got[1]);
        x2_halves.push_back(got[0] / got[2]);
    }
    state.counters["ms_1t"] = median(ms[0]);
    state.counters["ms_2t"] = median(ms[1]);
    state.counters["ms_halves"] = median(ms[2]);
    state.counters["x2"] = median(x2);
    state.counters["x2_halves"] = median(x2_halves);
    state.counters["batch"] = static_cast<double>(batch);
#else
    (void)net;
    (void)batch;
    state.SkipWithError("needs OpenMP");
#endif
}

#ifdef __linux__
/// Pins the calling thread to `cpu`, or (cpu < 0) lets it run on every CPU it was allowed at start-up.
bool pin_to(int cpu, const cpu_set_t& allowed) {
    cpu_set_t set;
    if (cpu < 0) {
        set = allowed;
    } else {
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
    }
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

/// Shared cloud cores need not run at one speed: 1 -> 2 thread scaling (scaling_train) is bounded by the two
/// cores' summed speeds, not by twice the speed of whichever core the 1-thread step ran on. Each round times
/// a step on 1 thread pinned to the first allowed CPU, one pinned to the second, and one on 2 threads unpinned
/// (each after an untimed step in the same setting), the order rotating from round to round.
void cores_train(benchmark::State& state, Net net, index_t batch) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    int cpus[2] = {-1, -1}, found = 0;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
        for (int c = 0; c < CPU_SETSIZE && found < 2; ++c)
            if (CPU_ISSET(c, &allowed)) cpus[found++] = c;
    if (found < 2) {
        state.SkipWithError("needs two CPUs");
        return;
    }
    TrainStep train_step(net, batch);
    set_threads(2);
    for (int i = 0; i < 2; ++i) train_step();  // OpenMP's threads start unpinned: they keep the mask they start with
    auto timed = [&](int setting) {  // 0, 1: one thread on cpus[setting]; 2: two threads, unpinned
        if (!pin_to(setting < 2 ? cpus[setting] : -1, allowed)) return -1.0;
        set_threads(setting < 2 ? 1 : 2);
        train_step();
        const auto start = std::chrono::steady_clock::now();
        Var<float> loss = train_step();
        benchmark::DoNotOptimize(loss.value().data());
        benchmark::ClobberMemory();
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    };
    std::vector<double> ms[3], efficiency;
    int round = 0;
    for (auto _ : state) {
        double got[3];
        rotating_round(round++, timed, got);
        if (got[0] <= 0 || got[1] <= 0 || got[2] <= 0) {
            pin_to(-1, allowed);
            state.SkipWithError("sched_setaffinity failed");
            return;
        }
        for (int k = 0; k < 3; ++k) ms[k].push_back(got[k]);
        efficiency.push_back((1.0 / got[2]) / (1.0 / got[0] + 1.0 / got[1]));
    }
    pin_to(-1, allowed);
    state.counters["ms_cpu" + std::to_string(cpus[0])] = median(ms[0]);
    state.counters["ms_cpu" + std::to_string(cpus[1])] = median(ms[1]);
    state.counters["ms_2t"] = median(ms[2]);
    state.counters["efficiency"] = median(efficiency);
    state.counters["batch"] = static_cast<double>(batch);
}
#endif

void model_infer(benchmark::State& state, Net net, index_t batch) {
    set_threads(static_cast<int>(state.range(0)));
    auto model = make_net(net);
    model->eval();
    const Batch data(batch);
    Tape tape;
    auto forward = [&] {
        tape.rewind();
        NoGradGuard no_grad(tape);
        return (*model)(tape.constant(data.x));
    };
    for (int i = 0; i < 2; ++i) forward();
    for (auto _ : state) {
        Var<float> logits = forward();
        benchmark::DoNotOptimize(logits.value().data());
        benchmark::ClobberMemory();
    }
    state.counters["img/s"] = benchmark::Counter(static_cast<double>(state.iterations() * batch),
                                                 benchmark::Counter::kIsRate);
    state.counters["batch"] = static_cast<double>(batch);
}

const bool registered = [] {
    const index_t batch = env_count("model_bench", "STRATA_BENCH_BATCH", 64);
    const index_t iters = env_count("model_bench", "STRATA_BENCH_ITERS", 0);  // 0: let Google Benchmark choose
    struct NetCase {
        const char* family;  // "model" (has a PyTorch peer) or "cifar"
        const char* name;
        Net net;
    };
    const NetCase nets[] = {{"model", "resnet18", Net::resnet18},
                            {"model", "plain18", Net::plain18},
                            {"cifar", "resnet20", Net::resnet20},
                            {"cifar", "plain20", Net::plain20}};
    using BenchFn = void (*)(benchmark::State&, Net, index_t);
    const std::pair<const char*, BenchFn> kinds[] = {{"train", model_train}, {"infer", model_infer}};
    for (const auto& [kind, fn] : kinds) {
        for (const auto& [family, name, net] : nets) {
            const std::string full =
                std::string(family) + "_" + kind + "/" + name + "/batch:" + std::to_string(batch);
            auto* b = benchmark::RegisterBenchmark(full.c_str(), fn, net, batch)
                          ->ArgName("threads")
                          ->Arg(1)
                          ->Arg(2)
                          ->Unit(benchmark::kMillisecond)
                          ->UseRealTime();
            if (iters > 0) b->Iterations(iters);
        }
    }
    for (const auto& [family, name, net] : nets) {
        if (std::string(family) != "model") continue;
        const std::string full = std::string("scaling_train/") + name + "/batch:" + std::to_string(batch);
        auto* b = benchmark::RegisterBenchmark(full.c_str(), scaling_train, net, batch)
                      ->Unit(benchmark::kMillisecond)
                      ->UseRealTime();
        if (iters > 0) b->Iterations(iters);
        const std::string halves = std::string("halves_train/") + name + "/batch:" + std::to_string(batch);
        auto* h = benchmark::RegisterBenchmark(halves.c_str(), halves_train, net, batch)
                      ->Unit(benchmark::kMillisecond)
                      ->UseRealTime();
        if (iters > 0) h->Iterations(iters);
#ifdef __linux__
        const std::string cores = std::string("cores_train/") + name + "/batch:" + std::to_string(batch);
        auto* c = benchmark::RegisterBenchmark(cores.c_str(), cores_train, net, batch)
                      ->Unit(benchmark::kMillisecond)
                      ->UseRealTime();
        if (iters > 0) c->Iterations(iters);
#endif
    }
    return true;
}();

}  // namespace
