#include <catch2/catch.hpp>

#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "strata/ops/batch_norm.hpp"
#include "strata/ops/conv2d.hpp"
#include "strata/ops/max_pool2d.hpp"
#include "strata/ops/relu.hpp"
#include "strata/ops/sum.hpp"
#include "support/random_tensor.hpp"

using namespace strata;

namespace {

/// A convolution, batch-norm, ReLU and max-pool with their gradients, on its own tape: the ops whose per-thread
/// scratch is sized by the thread count of their own parallel loops. Returns the output, then the gradients of
/// the input and the weight, one after the other.
std::vector<float> conv_block_step(const Tensor<float>& x, const Tensor<float>& w) {
    Tape tape;
    Var<float> xv = tape.variable(x), wv = tape.variable(w);
    Var<float> h = conv2d(xv, wv, Conv2dParams{1, 1});
    h = relu(batch_norm(h, Var<float>(), Var<float>(), nullptr, nullptr, true, 0.1, 1e-5));
    Var<float> y = max_pool2d(h, 3, 2, 1);
    tape.backward(sum(y));
    std::vector<float> out(y.value().data(), y.value().data() + y.numel());
    out.insert(out.end(), xv.grad().data(), xv.grad().data() + xv.numel());
    out.insert(out.end(), wv.grad().data(), wv.grad().data() + wv.numel());
    return out;
}

}  // namespace

TEST_CASE("ops called from the threads of the caller's own OpenMP team compute what they compute alone",
          "[core][parallel]") {
    // Inside a caller's parallel region each op runs on the calling thread; its scratch must then be indexed by
    // its own loop's thread (0), not by the caller's team number (omp_get_thread_num() = 1 on the second thread
    // wrote past the scratch of a 1-thread loop).
    const Tensor<float> x = test::random_tensor({8, 16, 14, 14}, 3).cast<float>();
    const Tensor<float> w = test::random_tensor({16, 16, 3, 3}, 4).cast<float>();
    std::vector<float> got[2];
#ifdef _OPENMP
    // Results depend on the thread count (the order of sums): the reference runs on one thread, as each op does
    // inside the team.
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    const std::vector<float> alone = conv_block_step(x, w);
    omp_set_num_threads(saved);
#pragma omp parallel num_threads(2)
    got[omp_get_thread_num()] = conv_block_step(x, w);
#else
    const std::vector<float> alone = conv_block_step(x, w);
    got[0] = got[1] = conv_block_step(x, w);
#endif
    CHECK(got[0] == alone);
    CHECK(got[1] == alone);
}
