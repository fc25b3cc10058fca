#include <catch2/catch.hpp>

#include <memory>

#include "optim/optim_test_util.hpp"
#include "strata/optim/adam.hpp"
#include "strata/optim/optimizer.hpp"
#include "strata/optim/rmsprop.hpp"
#include "strata/optim/schedule.hpp"
#include "strata/optim/sgd.hpp"

using namespace strata;
using namespace strata::optim;
using strata::test::QuadSinProblem;

TEST_CASE("Optimizer groups: add, list, options, lr control", "[optim][optimizer]") {
    Parameter<double> a(Tensor<double>(Shape{2, 2})), b(Tensor<double>(Shape{3})), c(Tensor<double>(Shape{1}));
    SGD<double> opt(SGDOptions(0.1).momentum(0.9));
    CHECK(opt.group_count() == 0);
    opt.add_param_group({&a, &b});
    opt.add_param_group({&c}, SGDOptions(0.01));
    opt.add_param_group({});  // an empty group is allowed
    REQUIRE(opt.groups().size() == 3);
    CHECK(opt.groups()[0].params.size() == 2);
    CHECK(opt.groups()[0].options.momentum() == 0.9);
    CHECK(opt.groups()[1].options.momentum() == 0.0);
    CHECK(opt.parameters() == std::vector<Parameter<double>*>{&a, &b, &c});
    CHECK(opt.name() == "SGD");

    LrControl& control = opt;
    CHECK(control.group_count() == 3);
    CHECK(control.lr(1) == 0.01);
    control.set_lr(1, 0.5);
    CHECK(opt.options(1).lr() == 0.5);
    CHECK_THROWS_WITH(control.lr(3), Catch::Contains("SGD: has 3 parameter groups, asked for group 3"));
    CHECK_THROWS_WITH(control.set_lr(0, std::nan("")), Catch::Contains("invalid learning rate nan for group 0"));
    control.set_lr(0, -1.0);  // accepted, but the next step refuses it
    CHECK_THROWS_WITH(opt.step(), Catch::Contains("SGD: invalid learning rate: -1"));
}

TEST_CASE("Optimizer rejects null and repeated parameters", "[optim][optimizer]") {
    Parameter<float> a(Tensor<float>(Shape{2}));
    Adam<float> opt({&a});
    CHECK_THROWS_AS(opt.add_param_group({&a}), ArgumentError);
    CHECK_THROWS_WITH(opt.add_param_group({&a}), Catch::Contains("already appears in a parameter group"));
    CHECK_THROWS_WITH(opt.add_param_group({nullptr}), Catch::Contains("parameter 0 of new group 1 is null"));
    CHECK_THROWS_WITH(opt.add_param_group({&a}, AdamOptions(-2.0)), Catch::Contains("invalid learning rate: -2"));
    CHECK(opt.group_count() == 1);  // nothing was added by the failed calls
}

TEST_CASE("Optimizer::step skips frozen parameters and checks gradient shapes", "[optim][optimizer]") {
    Parameter<double> live(Tensor<double>(Shape{2}, {1.0, 1.0})), frozen(Tensor<double>(Shape{2}, {1.0, 1.0}));
    frozen.requires_grad = false;
    SGD<double> opt({&live, &frozen}, SGDOptions(0.1).momentum(0.9).weight_decay(0.1));
    live.grad().fill(1.0);
    frozen.grad().fill(1.0);
    opt.step();
    CHECK(live.value[0] == Approx(1.0 - 0.1 * 1.1));
    CHECK(frozen.value[0] == 1.0);
    CHECK(opt.state(0, 1).momentum_steps[0] == 0);
    CHECK(opt.state(0, 0).momentum_steps[0] == 1);

    live.grad() = Tensor<double>(Shape{3});
    CHECK_THROWS_AS(opt.step(), ShapeError);
    CHECK_THROWS_WITH(opt.step(), Catch::Contains("SGD.step: parameter 0 of group 0 has a gradient of shape [3]") &&
                                      Catch::Contains("value of shape [2]"));
    CHECK_THROWS_WITH(opt.state(0, 2), Catch::Contains("group 0 has 2 parameters, asked for parameter 2"));
}

TEST_CASE("Optimizer::zero_grad zeroes every gradient of every group", "[optim][optimizer]") {
    Parameter<float> a(Tensor<float>(Shape{2})), b(Tensor<float>(Shape{3}));
    RMSprop<float> opt({&a});
    opt.add_param_group({&b}, RMSpropOptions(0.1));
    a.grad().fill(3.0f);
    b.grad().fill(-1.0f);
    opt.zero_grad();
    CHECK(a.grad().array().abs().maxCoeff() == 0.0f);
    CHECK(b.grad().array().abs().maxCoeff() == 0.0f);
}

TEST_CASE("Optimizer state is named per group and parameter and created eagerly", "[optim][optimizer]") {
    Parameter<double> a(Tensor<double>(Shape{2, 3})), b(Tensor<double>(Shape{3}));
    Adam<double> opt({&a});
    opt.add_param_group({&b}, AdamOptions(0.1).amsgrad(true));
    std::vector<std::string> names;
    for (auto& nt : opt.state_tensors()) names.push_back(nt.first);
    CHECK(names == std::vector<std::string>{"group.0.param.0.step", "group.0.param.0.exp_avg",
                                            "group.0.param.0.exp_avg_sq", "group.1.param.0.step",
                                            "group.1.param.0.exp_avg", "group.1.param.0.exp_avg_sq",
                                            "group.1.param.0.max_exp_avg_sq"});
    opt.options(0).amsgrad(true);  // switched on later: created by init_state (or the next step)
    opt.init_state();
    CHECK(opt.state_tensors().size() == 8);
    CHECK(opt.state(0, 0).max_exp_avg_sq.shape() == Shape{2, 3});
}

namespace {

/// Trains a QuadSinProblem 40 steps straight, and 17 steps + checkpoint + 23 steps in a fresh optimizer and
/// schedule; the parameters must come out bit-identical.
template <class MakeOpt, class MakeSchedule>
void check_resume(MakeOpt make_opt, MakeSchedule make_schedule) {
    QuadSinProblem<double> straight("optim_adam.txt");
    auto opt_a = make_opt(straight);
    auto sched_a = make_schedule(*opt_a);
    for (int i = 0; i < 40; ++i) {
        straight.compute_grads();
        opt_a->step();
        sched_a->step();
    }

    QuadSinProblem<double> first("optim_adam.txt");
    auto opt_b = make_opt(first);
    auto sched_b = make_schedule(*opt_b);
    for (int i = 0; i < 17; ++i) {
        first.compute_grads();
        opt_b->step();
        sched_b->step();
    }
    std::vector<std::pair<std::string, Tensor<double>>> saved;
    for (auto& nt : opt_b->state_tensors()) saved.emplace_back(nt.first, nt.second->clone());
    const std::vector<double> saved_schedule = sched_b->state();

    QuadSinProblem<double> resumed("optim_adam.txt");
    resumed.p0.value.copy_from(first.p0.value.view());
    resumed.p1.value.copy_from(first.p1.value.view());
    auto opt_c = make_opt(resumed);
    auto sched_c = make_schedule(*opt_c);
    opt_c->init_state();
    auto targets = opt_c->state_tensors();
    REQUIRE(targets.size() == saved.size());
    for (std::size_t k = 0; k < saved.size(); ++k) {
        CHECK(targets[k].first == saved[k].first);
        targets[k].second->copy_from(saved[k].second.view());
    }
    sched_c->load_state(saved_schedule);
    for (int i = 17; i < 40; ++i) {
        resumed.compute_grads();
        opt_c->step();
        sched_c->step();
    }
    CHECK(test::max_abs_diff(resumed.p0.value, straight.p0.value) == 0.0);
    CHECK(test::max_abs_diff(resumed.p1.value, straight.p1.value) == 0.0);
    CHECK(opt_c->lr(0) == opt_a->lr(0));
    CHECK(opt_c->momentum(0) == opt_a->momentum(0));
}

}  // namespace

TEST_CASE("A run resumed from exported state continues bit-identically", "[optim][optimizer][checkpoint]") {
    SECTION("SGD Nesterov with cosine annealing") {
        check_resume(
            [](QuadSinProblem<double>& p) {
                return std::make_unique<SGD<double>>(p.params(),
                                                     SGDOptions(0.03).momentum(0.85).nesterov(true).weight_decay(1e-3));
            },
            [](LrControl& o) { return std::make_unique<CosineAnnealingLR>(o, 30, 1e-3); });
    }
    SECTION("Adam AMSGrad with one-cycle (beta1 cycled)") {
        check_resume(
            [](QuadSinProblem<double>& p) {
                return std::make_unique<Adam<double>>(p.params(), AdamOptions(0.05).amsgrad(true).weight_decay(0.01));
            },
            [](LrControl& o) { return std::make_unique<OneCycleLR>(o, OneCycleOptions(0.05, 40)); });
    }
    SECTION("RMSprop centered with warm-up then steps") {
        check_resume(
            [](QuadSinProblem<double>& p) {
                return std::make_unique<RMSprop<double>>(p.params(),
                                                         RMSpropOptions(0.01).momentum(0.5).centered(true));
            },
            [](LrControl& o) {
                return std::make_unique<LinearWarmup>(std::make_unique<StepLR>(o, 5, 0.5), 10, 0.1);
            });
    }
}
