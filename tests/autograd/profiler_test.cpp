#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "strata/autograd/profiler.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/matmul.hpp"
#include "strata/ops/relu.hpp"
#include "strata/ops/sum.hpp"

using namespace strata;

namespace {

/// One step of a tiny two-layer net: matmul, relu, matmul, add, sum (5 nodes). Returns w1's gradient.
std::vector<double> profiled_step(Tape& tape, Parameter<double>& w1, Parameter<double>& w2,
                                  const Tensor<double>& x) {
    tape.rewind();
    w1.grad().fill(0);
    w2.grad().fill(0);
    Var<double> xv = tape.constant(x);
    Var<double> h = relu(matmul(xv, tape.parameter(w1)));
    Var<double> y = matmul(h, tape.parameter(w2));
    Var<double> loss = sum(add(y, y));
    loss.backward();
    return std::vector<double>(w1.grad().data(), w1.grad().data() + w1.grad().numel());
}

struct ProfiledNet {
    Parameter<double> w1{Tensor<double>(Shape{8, 16})};
    Parameter<double> w2{Tensor<double>(Shape{16, 4})};
    Tensor<double> x{Shape{5, 8}};
    ProfiledNet() {
        Generator gen(5);
        w1.value.fill_normal(gen);
        w2.value.fill_normal(gen);
        x.fill_normal(gen);
    }
};

const OpStats* find_op(const std::vector<OpStats>& stats, const std::string& op, const Shape& shape = Shape{}) {
    for (const OpStats& s : stats)
        if (s.op == op && s.shape == shape) return &s;
    return nullptr;
}

}  // namespace

TEST_CASE("Profiler counts every op's recordings and backward runs per step", "[autograd][profiler]") {
    ProfiledNet net;
    Tape tape;
    const auto start = std::chrono::steady_clock::now();
    Profiler prof(tape);
    CHECK(tape.profile_sink() != nullptr);
    for (int i = 0; i < 3; ++i) profiled_step(tape, net.w1, net.w2, net.x);
    tape.rewind();  // closes the third step
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(prof.steps() == 3);
    const std::vector<OpStats> stats = prof.stats();
    REQUIRE(stats.size() == 4);  // matmul (twice per step), relu, add, sum
    const OpStats* matmul_stats = find_op(stats, "matmul");
    REQUIRE(matmul_stats != nullptr);
    CHECK(matmul_stats->calls == 6);
    CHECK(matmul_stats->backward_calls == 6);
    for (const char* op : {"relu", "add", "sum"}) {
        const OpStats* s = find_op(stats, op);
        REQUIRE(s != nullptr);
        CHECK(s->calls == 3);
        CHECK(s->backward_calls == 3);
    }
    for (std::size_t i = 1; i < stats.size(); ++i) CHECK(stats[i - 1].total_seconds() >= stats[i].total_seconds());
    // The measured intervals are disjoint parts of the steps: their sum cannot exceed the steps' time.
    double measured = prof.between_steps_seconds();
    for (const OpStats& s : stats) {
        CHECK(s.forward_seconds >= 0);
        CHECK(s.backward_seconds >= 0);
        measured += s.total_seconds();
    }
    CHECK(prof.step_seconds() > 0);
    CHECK(prof.step_seconds() <= wall);  // steps are disjoint: rewind to rewind
    CHECK(measured <= prof.step_seconds() * (1 + 1e-9));
    const std::string table = prof.table();
    for (const char* op : {"matmul", "relu", "add", "sum", "between steps"})
        CHECK(table.find(op) != std::string::npos);
}

TEST_CASE("Profiler by shape keeps an op's shapes apart", "[autograd][profiler]") {
    ProfiledNet net;
    Tape tape;
    Profiler prof(tape, /*by_shape=*/true);
    for (int i = 0; i < 2; ++i) profiled_step(tape, net.w1, net.w2, net.x);
    const std::vector<OpStats> stats = prof.stats();
    const OpStats* first = find_op(stats, "matmul", Shape{5, 16});
    const OpStats* second = find_op(stats, "matmul", Shape{5, 4});
    REQUIRE(first != nullptr);
    REQUIRE(second != nullptr);
    CHECK(first->calls == 2);
    CHECK(second->calls == 2);
    CHECK(find_op(stats, "matmul") == nullptr);  // no shapeless entry
    CHECK(prof.steps() == 1);                 // the second step is still open
    CHECK(prof.table().find("matmul [5, 16]") != std::string::npos);
}

TEST_CASE("Profiler changes no result, resets, and detaches when destroyed", "[autograd][profiler]") {
    ProfiledNet net;
    Tape tape;
    const std::vector<double> plain = profiled_step(tape, net.w1, net.w2, net.x);
    {
        Profiler prof(tape);
        CHECK(profiled_step(tape, net.w1, net.w2, net.x) == plain);
        tape.rewind();
        CHECK(prof.steps() == 1);
        prof.reset();
        CHECK(prof.steps() == 0);
        CHECK(prof.stats().empty());
        CHECK(prof.step_seconds() == 0);
        {
            Profiler inner(tape);  // replaces the outer one, which sees nothing meanwhile
            profiled_step(tape, net.w1, net.w2, net.x);
            CHECK(inner.stats().size() == 4);
        }
        CHECK(tape.profile_sink() != nullptr);  // the outer profiler is attached again
        profiled_step(tape, net.w1, net.w2, net.x);
        REQUIRE(prof.stats().size() == 4);
        CHECK(find_op(prof.stats(), "relu")->calls == 1);
    }
    CHECK(tape.profile_sink() == nullptr);
    CHECK(profiled_step(tape, net.w1, net.w2, net.x) == plain);
}
