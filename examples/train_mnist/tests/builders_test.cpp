// Tests of builders.hpp: the optimizer a config names with its two weight-decay groups, and the learning rates
// each schedule produces per iteration (lengths in epochs), with and without warm-up.

#include <catch2/catch.hpp>

#include <cmath>

#include "strata/models/registry.hpp"

#include "builders.hpp"

using namespace strata;
using namespace strata::train;
using Catch::Contains;

namespace {
std::unique_ptr<nn::Module<float>> net() { return models::make_model<float>("resnet8", models::ModelSpec().input_size(8)); }

/// The lr of group 0 after each of `n` iterations (the first entry: before any).
std::vector<double> lrs(optim::ScheduleDriver& d, TrainOptimizer& opt, int n) {
    std::vector<double> out{opt.control().lr(0)};
    for (int i = 0; i < n; ++i) {
        d.after_iteration();
        out.push_back(opt.control().lr(0));
    }
    return out;
}
}  // namespace

TEST_CASE("make_optimizer: the named optimizer, decay only on weights", "[train][builders]") {
    auto model = net();
    TrainConfig c;
    for (const std::string name : {"sgd", "adam", "adamw", "rmsprop"}) {
        c.optimizer = name;
        auto opt = make_optimizer(c, *model);
        CHECK(opt->control().group_count() == 2);
        CHECK(opt->control().lr(0) == c.lr);
        CHECK(opt->parameters().size() == model->parameters().size());
        CHECK(opt->control().momentum(0) == c.momentum);
    }
    c.optimizer = "sgd";
    auto opt = make_optimizer(c, *model);
    auto& sgd = dynamic_cast<optim::OptimizerHolder<optim::SGD<float>>&>(*opt).get();
    CHECK(sgd.options(0).weight_decay() == c.weight_decay);
    CHECK(sgd.options(1).weight_decay() == 0.0);
    for (auto* p : sgd.groups()[0].params) CHECK(p->value.rank() >= 2);
    for (auto* p : sgd.groups()[1].params) CHECK(p->value.rank() <= 1);
    CHECK_FALSE(sgd.groups()[1].params.empty());
    c.optimizer = "lion";
    CHECK_THROWS_WITH(make_optimizer(c, *model), Contains("unknown optimizer 'lion'"));
}

TEST_CASE("make_schedule: per-iteration schedules over epochs * steps", "[train][builders]") {
    auto model = net();
    TrainConfig c;
    c.epochs = 2;
    c.lr = 0.1;
    auto make = [&](TrainConfig cfg) {
        auto opt = make_optimizer(cfg, *model);
        auto d = make_schedule(cfg, opt->control(), 5);
        return std::make_pair(std::move(opt), std::move(d));
    };
    SECTION("none: constant, no schedule") {
        c.schedule = "none";
        auto [opt, d] = make(c);
        CHECK(d.schedule() == nullptr);
        CHECK(lrs(d, *opt, 10) == std::vector<double>(11, 0.1));
    }
    SECTION("none with warm-up: a ramp to lr, then constant") {
        c.schedule = "none";
        c.warmup = 4;
        c.warmup_start = 0.25;
        auto [opt, d] = make(c);
        const auto v = lrs(d, *opt, 8);
        CHECK(v[0] == Approx(0.025));
        CHECK(v[2] == Approx(0.0625));
        for (int i = 4; i <= 8; ++i) CHECK(v[static_cast<std::size_t>(i)] == Approx(0.1));
    }
    SECTION("cosine: half a cosine over the 10 iterations, 0 at the end") {
        auto [opt, d] = make(c);
        const auto v = lrs(d, *opt, 10);
        CHECK(v[0] == 0.1);
        CHECK(v[5] == Approx(0.05));
        CHECK(v[10] == Approx(0.0).margin(1e-12));
    }
    SECTION("cosine after warm-up anneals over the remaining iterations") {
        c.warmup = 2;
        auto [opt, d] = make(c);
        const auto v = lrs(d, *opt, 10);
        CHECK(v[2] == Approx(0.1));
        CHECK(v[6] == Approx(0.05));
        CHECK(v[10] == Approx(0.0).margin(1e-12));
    }
    SECTION("step: gamma every step-size epochs") {
        c.schedule = "step";
        c.step_size = 1;
        c.gamma = 0.5;
        auto [opt, d] = make(c);
        const auto v = lrs(d, *opt, 10);
        CHECK(v[4] == Approx(0.1));
        CHECK(v[5] == Approx(0.05));
        CHECK(v[10] == Approx(0.025));
    }
    SECTION("multistep: default milestones at 50% and 75%") {
        c.schedule = "multistep";
        c.epochs = 4;  // 20 iterations: drops at 10 and 15
        auto [opt, d] = make(c);
        const auto v = lrs(d, *opt, 20);
        CHECK(v[9] == Approx(0.1));
        CHECK(v[10] == Approx(0.01));
        CHECK(v[15] == Approx(0.001));
    }
    SECTION("multistep: milestones in epochs") {
        c.schedule = "multistep";
        c.milestones = {1};
        auto [opt, d] = make(c);
        const auto v = lrs(d, *opt, 10);
        CHECK(v[4] == Approx(0.1));
        CHECK(v[5] == Approx(0.01));
    }
    SECTION("onecycle: peak lr at 30%, minimum at the last iteration, momentum cycled") {
        c.schedule = "onecycle";
        auto [opt, d] = make(c);
        CHECK(opt->control().momentum(0) == Approx(0.95));
        const auto v = lrs(d, *opt, 2);
        CHECK(v[0] == Approx(0.1 / 25));
        CHECK(v[2] == Approx(0.1));
        CHECK(opt->control().momentum(0) == Approx(0.85));
        const auto w = lrs(d, *opt, 7);  // the lr of the 10th (last) iteration
        CHECK(w.back() == Approx(0.1 / 25 / 1e4));
    }
    SECTION("plateau: per epoch on the metric") {
        c.schedule = "plateau";
        c.patience = 0;
        auto [opt, d] = make(c);
        CHECK(lrs(d, *opt, 5) == std::vector<double>(6, 0.1));
        d.after_epoch(1.0);
        d.after_epoch(2.0);  // worse: reduced
        CHECK(opt->control().lr(0) == Approx(0.01));
    }
}

TEST_CASE("rescale_schedule moves a cosine onto a longer run", "[train][builders]") {
    auto model = net();
    TrainConfig c;
    c.epochs = 1;
    c.lr = 0.1;
    auto opt = make_optimizer(c, *model);
    auto d = make_schedule(c, opt->control(), 10);
    lrs(d, *opt, 10);
    const auto state = d.state();
    CHECK(opt->control().lr(0) == Approx(0.0).margin(1e-12));
    c.epochs = 2;
    auto opt2 = make_optimizer(c, *model);
    auto d2 = make_schedule(c, opt2->control(), 10);
    d2.load_state(state);
    rescale_schedule(d2);
    CHECK(opt2->control().lr(0) == Approx(0.05));  // step 10 of 20
    CHECK_THROWS_WITH(make_schedule(c, opt2->control(), 0), Contains("steps_per_epoch"));
}
