#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ops/op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/distributed/nn/sync_batch_norm.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/mul.hpp"

using namespace strata;
using strata::distributed::Communicator;
using strata::distributed::SyncBatchNorm;
using strata::distributed::sync_batch_norm;
using strata::test::max_rel_diff;
using strata::test::random_tensor;

namespace {

/// The communicators that act as one rank in a test run: local always, world when the run has one rank.
std::vector<Communicator> single_rank_communicators() {
    std::vector<Communicator> out = {Communicator::local()};
    if (Communicator::world().uses_mpi() && Communicator::world().size() == 1) out.push_back(Communicator::world());
    return out;
}

/// Runs batch_norm (sync = false) or sync_batch_norm on x with gamma/beta and seed `dy`; returns y, dx, dgamma,
/// dbeta, running mean and running var.
template <class T>
std::vector<Tensor<T>> run_norm(bool sync, const Tensor<T>& x, const Tensor<T>& dy, Communicator comm) {
    Parameter<T> gamma(random_tensor<T>(Shape{x.dim(1)}, 11)), beta(random_tensor<T>(Shape{x.dim(1)}, 12));
    Tensor<T> rm = random_tensor<T>(Shape{x.dim(1)}, 13), rv(Shape{x.dim(1)}, T(1.5));
    Tape tape;
    Var<T> vx = tape.variable(x);
    Var<T> y = sync ? sync_batch_norm(vx, tape.parameter(gamma), tape.parameter(beta), &rm, &rv, true, 0.2, 1e-3, comm)
                    : batch_norm(vx, tape.parameter(gamma), tape.parameter(beta), &rm, &rv, true, 0.2, 1e-3);
    tape.backward(y, dy.view());
    std::vector<Tensor<T>> out;  // Tensor is move-only: no initializer list
    out.push_back(y.to_tensor());
    out.push_back(Tensor<T>::from(vx.grad()));
    out.push_back(gamma.grad().clone());
    out.push_back(beta.grad().clone());
    out.push_back(std::move(rm));
    out.push_back(std::move(rv));
    return out;
}

}  // namespace

TEST_CASE("sync_batch_norm passes gradcheck on one rank (the allreduce is the identity)",
          "[distributed][sync_batch_norm]") {
    for (const Communicator comm : single_rank_communicators()) {
        INFO("communicator uses MPI: " << comm.uses_mpi());
        for (const Shape& shape : {Shape{3, 4, 3, 2}, Shape{5, 3}, Shape{1, 2, 1, 3}}) {
            INFO("input " << shape);
            Tensor<double> x = random_tensor(shape, 1, 2.0), g = random_tensor(Shape{shape[1]}, 2),
                           b = random_tensor(Shape{shape[1]}, 3);
            auto f = [&](Tape&, std::vector<Var<double>>& v) {
                return sync_batch_norm(v[0], v[1], v[2], nullptr, nullptr, true, 0.1, 1e-5, comm);
            };
            CHECK(gradcheck(f, {&x, &g, &b}));
            // The input used twice: y = bn(x) * x + x.
            auto twice = [&](Tape&, std::vector<Var<double>>& v) {
                return add(mul(sync_batch_norm(v[0], Var<double>(), v[1], nullptr, nullptr, true, 0.1, 1e-5, comm), v[0]),
                           v[0]);
            };
            CHECK(gradcheck(twice, {&x, &b}));
        }
    }
}

TEST_CASE("sync_batch_norm on one rank equals batch_norm (output, running statistics, gradients)",
          "[distributed][sync_batch_norm]") {
    for (const Communicator comm : single_rank_communicators()) {
        const Tensor<double> x = random_tensor(Shape{4, 3, 5, 2}, 21, 3.0), dy = random_tensor(Shape{4, 3, 5, 2}, 22);
        const auto want = run_norm<double>(false, x, dy, comm), got = run_norm<double>(true, x, dy, comm);
        for (std::size_t i = 0; i < want.size(); ++i) CHECK(max_rel_diff(got[i], want[i]) < 1e-12);
        const Tensor<float> xf = x.cast<float>(), dyf = dy.cast<float>();
        const auto gotf = run_norm<float>(true, xf, dyf, comm);
        for (std::size_t i = 0; i < want.size(); ++i) CHECK(max_rel_diff(gotf[i], want[i]) < 1e-5);
    }
}

TEST_CASE("SyncBatchNorm has BatchNorm2d's parameters and buffers and its eval mode", "[distributed][sync_batch_norm]") {
    SyncBatchNorm<double> sbn(nn::BatchNormOptions(3).momentum(0.5), Communicator::local());
    nn::BatchNorm2d<double> bn(nn::BatchNormOptions(3).momentum(0.5));
    CHECK(sbn.type_name() == "SyncBatchNorm");
    const auto names = [](auto& m) {
        std::vector<std::string> out;
        for (auto& p : m.named_parameters()) out.push_back(p.name);
        for (auto& b : m.named_buffers()) out.push_back(b.name);
        return out;
    };
    CHECK(names(sbn) == names(bn));
    CHECK(names(sbn) == std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"});
    const Tensor<double> x = random_tensor(Shape{6, 3, 2, 2}, 31, 2.0);
    Tape tape;
    for (int step = 0; step < 2; ++step) {  // training: same outputs and running statistics as BatchNorm2d
        tape.rewind();
        CHECK(max_rel_diff(sbn(tape.constant(x)).value(), bn(tape.constant(x)).value()) < 1e-12);
    }
    CHECK(max_rel_diff(*sbn.running_mean(), *bn.running_mean()) < 1e-12);
    CHECK(max_rel_diff(*sbn.running_var(), *bn.running_var()) < 1e-12);
    CHECK((*sbn.named_buffers()[2].buffer)[0] == 2.0);
    sbn.eval();
    bn.eval();
    tape.rewind();
    CHECK(max_rel_diff(sbn(tape.constant(x)).value(), bn(tape.constant(x)).value()) < 1e-12);
    CHECK((*sbn.named_buffers()[2].buffer)[0] == 2.0);  // eval does not count batches
}

TEST_CASE("sync_batch_norm validates its input", "[distributed][sync_batch_norm]") {
    using Catch::Contains;
    const Communicator comm = Communicator::local();
    Tape tape;
    const Tensor<float> x3(Shape{2, 3, 4}), one(Shape{1, 3, 1, 1}), x(Shape{2, 3, 2, 2});
    const Tensor<float> wrong(Shape{4});
    CHECK_THROWS_WITH(sync_batch_norm(tape.constant(x3), Var<float>(), Var<float>(), nullptr, nullptr, true, 0.1, 1e-5, comm),
                      Contains("sync_batch_norm: input must have shape [N, C, H, W] or [N, C], got [2, 3, 4]"));
    CHECK_THROWS_WITH(sync_batch_norm(tape.constant(one), Var<float>(), Var<float>(), nullptr, nullptr, true, 0.1, 1e-5, comm),
                      Contains("Expected more than 1 value per channel when training, got 1 over 1 rank"));
    CHECK_THROWS_WITH(sync_batch_norm(tape.constant(x), tape.constant(wrong), Var<float>(), nullptr, nullptr, true, 0.1,
                                      1e-5, comm),
                      Contains("weight (gamma) must have shape [3]"));
    CHECK_THROWS_WITH(sync_batch_norm(tape.constant(x), Var<float>(), Var<float>(), nullptr, nullptr, true, 1.5, 1e-5, comm),
                      Contains("momentum must be in [0, 1], got 1.5"));
    CHECK_THROWS_WITH(sync_batch_norm(tape.constant(x), Var<float>(), Var<float>(), nullptr, nullptr, false, 0.1, 1e-5, comm),
                      Contains("evaluation mode (training = false) needs running_mean and running_var"));
    CHECK_THROWS_WITH(SyncBatchNorm<float>(nn::BatchNormOptions(0)), Contains("SyncBatchNorm: num_features must be positive"));
}

TEST_CASE("two ranks: sync_batch_norm over the halves equals batch_norm over the whole batch",
          "[distributed][np2][sync_batch_norm]") {
    const Communicator world = Communicator::world();
    REQUIRE(world.size() == 2);
    // Every rank builds the whole batch; rank r normalises rows [3r, 3r + 3) of 6.
    const Tensor<double> x = random_tensor(Shape{6, 3, 2, 5}, 41, 2.0), dy = random_tensor(Shape{6, 3, 2, 5}, 42);
    const index_t half = x.numel() / 2, off = world.rank() * half;
    Tensor<double> xr(Shape{3, 3, 2, 5}), dyr(Shape{3, 3, 2, 5});
    for (index_t i = 0; i < half; ++i) {
        xr[i] = x[off + i];
        dyr[i] = dy[off + i];
    }
    const auto want = run_norm<double>(false, x, dy, Communicator::local());
    auto got = run_norm<double>(true, xr, dyr, world);
    // y and dx: this rank's half of the whole-batch result; running statistics: the same on both ranks.
    for (std::size_t k : {0, 1})
        for (index_t i = 0; i < half; ++i) CHECK(got[k][i] == Approx(want[k][off + i]).epsilon(1e-11).margin(1e-12));
    CHECK(max_rel_diff(got[4], want[4]) < 1e-12);
    CHECK(max_rel_diff(got[5], want[5]) < 1e-12);
    // gamma and beta gradients are per-rank partial sums (GradientAverager averages them): their sum is the whole.
    world.allreduce_sum(got[2].data(), got[2].numel());
    world.allreduce_sum(got[3].data(), got[3].numel());
    CHECK(max_rel_diff(got[2], want[2]) < 1e-12);
    CHECK(max_rel_diff(got[3], want[3]) < 1e-12);
}
