// No heap allocation inside a steady-state training or inference step (issue #8).
//
// This program replaces the C allocator's entry points (malloc, calloc, realloc, the aligned variants; operator
// new goes through malloc) with counting wrappers around glibc's own __libc_* functions, so it sees every
// allocation: strata's, Eigen's (its GEMM packing buffers use malloc, not operator new), the standard library's
// and OpenMP's. It is its own executable because the replacement is process-wide; it needs glibc and is not
// built under the sanitizers (which replace malloc themselves).
//
// Each case warms up with two steps (the arena grows to its steady size, optimizer state is created), then
// counts the allocations of three more steps and requires zero, listing the first few (size and caller) when
// there are any.

#include <dlfcn.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <catch2/catch.hpp>

#include "strata/models/resnet.hpp"
#include "strata/nn/deep_supervision.hpp"
#include "strata/ops/cross_entropy.hpp"
#include "strata/optim/adam.hpp"
#include "strata/optim/sgd.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {

std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
constexpr int kRecorded = 8;
std::size_t recorded_size[kRecorded];
void* recorded_caller[kRecorded];

void note(std::size_t size, void* caller) {
    if (!counting.load(std::memory_order_relaxed)) return;
    const long i = allocations.fetch_add(1, std::memory_order_relaxed);
    if (i < kRecorded) {
        recorded_size[i] = size;
        recorded_caller[i] = caller;
    }
}

}  // namespace

extern "C" {
void* malloc(std::size_t n) {
    note(n, __builtin_return_address(0));
    return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n) {
    note(count * n, __builtin_return_address(0));
    return __libc_calloc(count, n);
}
void* realloc(void* p, std::size_t n) {
    note(n, __builtin_return_address(0));
    return __libc_realloc(p, n);
}
void* memalign(std::size_t alignment, std::size_t n) {
    note(n, __builtin_return_address(0));
    return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) {
    note(n, __builtin_return_address(0));
    return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
    note(n, __builtin_return_address(0));
    *out = __libc_memalign(alignment, n);
    return *out ? 0 : ENOMEM;
}
void free(void* p) { __libc_free(p); }
}

namespace {

using namespace strata;

void set_threads(int threads) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    Eigen::setNbThreads(threads);
}

/// Runs `step` twice uncounted, then three times counted; returns the count and describes the first ones.
template <class Step>
long allocations_in_steady_state(Step&& step, std::string& where) {
    for (int i = 0; i < 2; ++i) step();
    allocations = 0;
    counting = true;
    for (int i = 0; i < 3; ++i) step();
    counting = false;
    const long n = allocations.load();
    char line[512];
    for (long i = 0; i < std::min<long>(n, kRecorded); ++i) {
        Dl_info info{};
        const bool known = dladdr(recorded_caller[i], &info) != 0 && info.dli_fname != nullptr;
        std::snprintf(line, sizeof line, "  %zu bytes from %s+0x%zx (%s)\n", recorded_size[i],
                      known ? info.dli_fname : "?",
                      known ? static_cast<std::size_t>(static_cast<char*>(recorded_caller[i]) -
                                                       static_cast<char*>(info.dli_fbase))
                            : std::size_t{0},
                      known && info.dli_sname ? info.dli_sname : "addr2line -f -C -e <file> <offset>");
        where += line;
    }
    return n;
}

struct Data {
    Tensor<float> x;
    std::vector<index_t> labels;
    explicit Data(index_t batch) : x(Shape{batch, 1, 28, 28}), labels(static_cast<std::size_t>(batch)) {
        Generator gen(0);
        x.fill_normal(gen);
        for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<index_t>(i * 7 % 10);
    }
};

std::unique_ptr<models::ResNet<float>> make(const std::string& net) {
    const auto options = models::ResNetOptions().in_channels(1).num_classes(10);
    return net == "resnet18" ? models::resnet18<float>(options) : models::plain18<float>(options);
}

}  // namespace

TEST_CASE("the counting allocator sees malloc, operator new and aligned allocations", "[alloc]") {
    allocations = 0;
    counting = true;
    void* p = std::malloc(16);
    auto q = std::make_unique<std::vector<int>>(100);
    void* r = Eigen::internal::aligned_malloc(1 << 20);
    counting = false;
    std::free(p);
    Eigen::internal::aligned_free(r);
    CHECK(allocations.load() >= 4);  // malloc, the vector object, its storage, Eigen's buffer
}

TEST_CASE("a steady-state training step allocates nothing on the heap", "[alloc]") {
    for (const std::string net : {"resnet18", "plain18"})
        for (const index_t batch : {index_t{16}, index_t{64}})
            for (const int threads : {1, 2}) {
                set_threads(threads);
                auto model = make(net);
                model->train();
                optim::SGD<float> sgd(model->parameters(), optim::SGDOptions(0.01).momentum(0.9).weight_decay(5e-4));
                const Data data(batch);
                Tape tape;
                std::string where;
                const long n = allocations_in_steady_state(
                    [&] {
                        tape.rewind();
                        Var<float> loss = cross_entropy((*model)(tape.constant(data.x)), data.labels);
                        sgd.zero_grad();
                        loss.backward();
                        sgd.step();
                    },
                    where);
                INFO(net << ", batch " << batch << ", " << threads << " thread(s): " << n
                         << " allocations in 3 steps; the first:\n" << where);
                CHECK(n == 0);
            }
    set_threads(1);
}

TEST_CASE("a steady-state Adam step and an inference step allocate nothing on the heap", "[alloc]") {
    auto model = make("resnet18");
    const Data data(32);
    Tape tape;
    std::string where;
    optim::Adam<float> adam(model->parameters(), optim::AdamOptions(1e-3));
    model->train();
    long n = allocations_in_steady_state(
        [&] {
            tape.rewind();
            Var<float> loss = cross_entropy((*model)(tape.constant(data.x)), data.labels);
            adam.zero_grad();
            loss.backward();
            adam.step();
        },
        where);
    INFO("Adam training: " << n << " allocations; the first:\n" << where);
    CHECK(n == 0);
    model->eval();
    where.clear();
    n = allocations_in_steady_state(
        [&] {
            tape.rewind();
            NoGradGuard no_grad(tape);
            (*model)(tape.constant(data.x));
        },
        where);
    INFO("inference: " << n << " allocations; the first:\n" << where);
    CHECK(n == 0);
}

TEST_CASE("a steady-state step with auxiliary heads allocates nothing on the heap", "[alloc][aux]") {
    // forward_with_aux into reused Outputs + DeepSupervisionLoss: the heads' logits travel with the call.
    auto model = models::resnet18<float>(
        models::ResNetOptions().in_channels(1).num_classes(10).aux_after({1, 2, 3}).input_size(28));
    model->train();
    optim::SGD<float> sgd(model->parameters(), optim::SGDOptions(0.01).momentum(0.9));
    nn::DeepSupervisionLoss<float> loss;
    nn::Outputs<float> out;
    const Data data(16);
    Tape tape;
    std::string where;
    const long n = allocations_in_steady_state(
        [&] {
            tape.rewind();
            nn::forward_with_aux(*model, tape.constant(data.x), out);
            Var<float> l = loss(out, data.labels);
            sgd.zero_grad();
            l.backward();
            sgd.step();
        },
        where);
    REQUIRE(out.aux.size() == 3);
    REQUIRE(out.names.back() == "aux3");
    INFO(n << " allocations in 3 steps; the first:\n" << where);
    CHECK(n == 0);
}

TEST_CASE("the fused inference path of ResNet-18 and Plain-18 allocates nothing, at 1 and 2 threads", "[alloc]") {
    for (const char* name : {"resnet18", "plain18"})
        for (int threads : {1, 2}) {
            set_threads(threads);
            auto model = make(name);
            model->eval();
            const Data data(64);
            Tape tape;
            std::string where;
            const long n = allocations_in_steady_state(
                [&] {
                    tape.rewind();
                    NoGradGuard no_grad(tape);
                    (*model)(tape.constant(data.x));
                },
                where);
            INFO(name << " inference at " << threads << " threads: " << n << " allocations; the first:\n" << where);
            CHECK(n == 0);
        }
    set_threads(1);
}
