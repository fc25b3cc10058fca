// Serving from several threads: one model in eval mode, shared read-only, answering from several threads that
// each own a Tape, gives bit-identical results to one thread. Built on its own (strata_thread_tests) so that
// scripts/test.sh can run it under ThreadSanitizer (without OpenMP), where any shared state a forward in eval
// mode writes (a module cache, a counter, a generator) is reported as a data race.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include "strata/models/model_file.hpp"
#include "strata/models/registry.hpp"
#include "strata/nn/summary.hpp"

using namespace strata;

namespace {

constexpr int kThreads = 4;
constexpr int kRequestsPerThread = 6;

/// Random weights and running statistics, so that every parameter and buffer matters.
void randomise(nn::Module<float>& m, std::uint64_t seed) {
    Generator gen(seed);
    for (auto& np : m.named_parameters()) np.parameter->value.fill_normal(gen, 0.0, 0.3);
    for (auto& nb : m.named_buffers()) nb.buffer->fill_uniform(gen, 0.5, 1.5);
}

/// Request i: one image [1, 1, 28, 28] (batch 1, as a server answers).
Tensor<float> request(int i) {
    Tensor<float> x(Shape{1, 1, 28, 28});
    Generator gen(1000 + static_cast<std::uint64_t>(i));
    x.fill_normal(gen);
    return x;
}

/// The logits of `model` for `x` on `tape` (rewound first), copied out.
std::vector<float> answer(nn::Module<float>& model, Tape& tape, const Tensor<float>& x) {
    tape.rewind();
    const Var<float> y = model(tape.constant(x));
    return std::vector<float>(y.value().data(), y.value().data() + y.value().numel());
}

/// Answers every request on one thread, then on kThreads threads (each with its own Tape, interleaving their
/// requests), and checks that each answer is bit-identical. `model` must be in eval mode already: setting the mode
/// writes every module, so it happens before the model is shared.
void check_threads_agree(nn::Module<float>& model) {
    REQUIRE_FALSE(model.is_training());
    const int n = kThreads * kRequestsPerThread;
    std::vector<Tensor<float>> inputs;
    for (int i = 0; i < n; ++i) inputs.push_back(request(i));
    std::vector<std::vector<float>> expected;
    {
        Tape tape;
        for (int i = 0; i < n; ++i) expected.push_back(answer(model, tape, inputs[static_cast<std::size_t>(i)]));
    }
    std::vector<std::vector<float>> got(static_cast<std::size_t>(n));
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            try {
                Tape tape;  // one tape per thread; the model is shared
                for (int i = t; i < n; i += kThreads)
                    got[static_cast<std::size_t>(i)] = answer(model, tape, inputs[static_cast<std::size_t>(i)]);
            } catch (...) {
                ++errors;
            }
        });
    for (auto& th : threads) th.join();
    REQUIRE(errors == 0);
    for (int i = 0; i < n; ++i) {
        const auto& a = expected[static_cast<std::size_t>(i)];
        const auto& b = got[static_cast<std::size_t>(i)];
        REQUIRE(a.size() == b.size());
        CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    }
}

}  // namespace

TEST_CASE("One ResNet with auxiliary heads in eval mode answers from several threads as from one", "[threads]") {
    auto model = models::make_model<float>("resnet8-aux", models::ModelSpec());
    randomise(*model, 1);
    model->eval();
    check_threads_agree(*model);
}

TEST_CASE("One DSN (dropout-free, BN, companion heads) in eval mode answers from several threads as from one",
          "[threads]") {
    auto model = models::make_model<float>("dsn", models::ModelSpec());
    randomise(*model, 2);
    model->eval();
    check_threads_agree(*model);
}

TEST_CASE("A model read by load_model serves several threads; summary() on another thread does not disturb them",
          "[threads]") {
    auto trained = models::make_model<float>("plain8-aux", models::ModelSpec());
    randomise(*trained, 3);
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("strata_serving_" + std::to_string(::getpid()) + ".strata")).string();
    models::save_model(path, *trained);
    auto model = models::load_model<float>(path);  // in eval mode
    std::filesystem::remove(path);
    // summary() observes forwards through a thread-local hook: running it while others serve is allowed.
    std::thread summarising([&] { (void)nn::summary(*model, Shape{1, 1, 28, 28}); });
    check_threads_agree(*model);
    summarising.join();
}
