// Tests of optim/schedule/by_name.hpp: the learning rates of each schedule make_schedule builds by name, per
// iteration, with and without warm-up, and rescale_schedule after a change of length.

#include <catch2/catch.hpp>

#include "strata/optim/schedule/by_name.hpp"
#include "strata/optim/sgd.hpp"

using namespace strata;
using Catch::Contains;

namespace {

/// An SGD over one parameter with lr 0.1 (momentum 0.9, so onecycle can cycle it).
struct Rig {
    Parameter<float> p{Tensor<float>(Shape{2}, {1.0f, 2.0f})};
    optim::SGD<float> opt{std::vector<Parameter<float>*>{&p}, optim::SGDOptions(0.1).momentum(0.9)};
};

/// The lr after each of `n` iterations (the first entry: before any).
std::vector<double> lrs(optim::ScheduleDriver& d, optim::LrControl& c, int n) {
    std::vector<double> out{c.lr(0)};
    for (int i = 0; i < n; ++i) {
        d.after_iteration();
        out.push_back(c.lr(0));
    }
    return out;
}

}  // namespace

TEST_CASE("make_schedule: each named schedule over total_steps iterations", "[optim][schedule][by_name]") {
    Rig r;
    const optim::ScheduleSpec ten = optim::ScheduleSpec().total_steps(10);
    SECTION("none: no schedule, a constant lr") {
        auto d = optim::make_schedule(optim::ScheduleSpec(ten).name("none"), r.opt);
        CHECK(d.schedule() == nullptr);
        CHECK(lrs(d, r.opt, 10) == std::vector<double>(11, 0.1));
    }
    SECTION("none with warm-up: a ramp to lr, then constant") {
        auto d = optim::make_schedule(optim::ScheduleSpec(ten).name("none").warmup(4).warmup_start(0.25), r.opt);
        const auto v = lrs(d, r.opt, 8);
        CHECK(v[0] == Approx(0.025));
        CHECK(v[2] == Approx(0.0625));
        for (int i = 4; i <= 8; ++i) CHECK(v[static_cast<std::size_t>(i)] == Approx(0.1));
    }
    SECTION("cosine: to 0 over the iterations after the warm-up") {
        auto d = optim::make_schedule(optim::ScheduleSpec(ten).name("cosine").warmup(2), r.opt);
        const auto v = lrs(d, r.opt, 10);
        CHECK(v[2] == Approx(0.1));
        CHECK(v[6] == Approx(0.05));
        CHECK(v[10] == Approx(0.0).margin(1e-12));
    }
    SECTION("step: gamma every step_size iterations; by default a third of the run") {
        auto d = optim::make_schedule(optim::ScheduleSpec(ten).name("step").step_size(5).gamma(0.5), r.opt);
        const auto v = lrs(d, r.opt, 10);
        CHECK(v[4] == Approx(0.1));
        CHECK(v[5] == Approx(0.05));
        CHECK(v[10] == Approx(0.025));
        Rig r2;
        auto d2 = optim::make_schedule(optim::ScheduleSpec(ten).name("step").gamma(0.5), r2.opt);
        const auto w = lrs(d2, r2.opt, 4);  // ceil(10 / 3) = 4
        CHECK(w[3] == Approx(0.1));
        CHECK(w[4] == Approx(0.05));
    }
    SECTION("multistep: given milestones, or 50% and 75%") {
        auto d = optim::make_schedule(optim::ScheduleSpec().total_steps(20).name("multistep"), r.opt);
        const auto v = lrs(d, r.opt, 20);
        CHECK(v[9] == Approx(0.1));
        CHECK(v[10] == Approx(0.01));
        CHECK(v[15] == Approx(0.001));
        Rig r2;
        auto d2 = optim::make_schedule(optim::ScheduleSpec(ten).name("multistep").milestones({3}), r2.opt);
        const auto w = lrs(d2, r2.opt, 4);
        CHECK(w[2] == Approx(0.1));
        CHECK(w[3] == Approx(0.01));
    }
    SECTION("onecycle: peak max_lr after 30% of the run, momentum cycled") {
        auto d = optim::make_schedule(optim::ScheduleSpec(ten).name("onecycle").max_lr(0.2), r.opt);
        CHECK(r.opt.momentum(0) == Approx(0.95));
        const auto v = lrs(d, r.opt, 2);  // the peak at iteration 0.3 * 10 - 1, as PyTorch's OneCycleLR
        CHECK(v[0] == Approx(0.2 / 25));
        CHECK(v[2] == Approx(0.2));
        CHECK(r.opt.momentum(0) == Approx(0.85));
    }
    SECTION("plateau: per epoch on the metric") {
        auto d = optim::make_schedule(optim::ScheduleSpec(ten).name("plateau").patience(0).gamma(0.5), r.opt);
        CHECK(lrs(d, r.opt, 5) == std::vector<double>(6, 0.1));
        d.after_epoch(1.0);
        d.after_epoch(2.0);  // worse: reduced
        CHECK(r.opt.lr(0) == Approx(0.05));
    }
}

TEST_CASE("make_schedule names what is wrong", "[optim][schedule][by_name]") {
    Rig r;
    CHECK_THROWS_WITH(optim::make_schedule(optim::ScheduleSpec("exponential"), r.opt),
                      Contains("unknown schedule 'exponential'") && Contains("cosine"));
    CHECK_THROWS_WITH(optim::make_schedule(optim::ScheduleSpec("cosine").total_steps(0), r.opt),
                      Contains("total_steps must be >= 1, got 0"));
    CHECK_THROWS_WITH(optim::make_schedule(optim::ScheduleSpec("onecycle").total_steps(5).warmup(2), r.opt),
                      Contains("warm-up") && Contains("onecycle"));
}

TEST_CASE("rescale_schedule moves a cosine onto a longer run", "[optim][schedule][by_name]") {
    Rig a;
    auto d = optim::make_schedule(optim::ScheduleSpec("cosine").total_steps(10), a.opt);
    lrs(d, a.opt, 10);
    CHECK(a.opt.lr(0) == Approx(0.0).margin(1e-12));
    Rig b;
    auto d2 = optim::make_schedule(optim::ScheduleSpec("cosine").total_steps(20), b.opt);
    d2.load_state(d.state());
    optim::rescale_schedule(d2);
    CHECK(b.opt.lr(0) == Approx(0.05));  // step 10 of 20
}
