#include <catch2/catch.hpp>

#include "optim/optim_test_util.hpp"
#include "strata/optim/adam.hpp"
#include "strata/optim/schedule/one_cycle.hpp"

using namespace strata;
using namespace strata::optim;
using strata::test::Fixture;
using strata::test::TwoGroupSGD;

TEST_CASE("OneCycleLR matches PyTorch with its defaults, momentum cycled", "[optim][schedule]") {
    const Fixture fx("sched_one_cycle.txt");
    TwoGroupSGD lr_run, mom_run;
    OneCycleLR s1(lr_run.opt, OneCycleOptions(0.1, 60).max_lrs({0.1, 0.05}));
    CHECK(test::max_rel_diff(test::record_lrs(s1, lr_run.opt, 60), fx.get("lr")) < 1e-12);
    OneCycleLR s2(mom_run.opt, OneCycleOptions(0.1, 60).max_lrs({0.1, 0.05}));
    CHECK(test::max_rel_diff(test::record_lrs(s2, mom_run.opt, 60, true), fx.get("momentum")) < 1e-12);
    CHECK(s1.base_lrs() == std::vector<double>{0.1 / 25, 0.05 / 25});
    CHECK_THROWS_WITH(s1.step(), Catch::Contains("tried to step 62 times. The specified number of total steps is 60"));
    CHECK(s1.last_epoch() == 60);
}

TEST_CASE("OneCycleLR three-phase, linear, on Adam's beta1 matches PyTorch", "[optim][schedule]") {
    const Fixture fx("sched_one_cycle_three_phase.txt");
    auto options = OneCycleOptions(0.01, 60)
                       .pct_start(0.25)
                       .anneal_strategy(AnnealStrategy::linear)
                       .three_phase(true)
                       .div_factor(10.0)
                       .final_div_factor(100.0)
                       .base_momentum(0.8)
                       .max_momentum(0.9);
    for (bool momentum : {false, true}) {
        Parameter<double> a(Tensor<double>(Shape{2})), b(Tensor<double>(Shape{3}));
        Adam<double> opt(AdamOptions(0.001));
        opt.add_param_group({&a});
        opt.add_param_group({&b});
        OneCycleLR s(opt, options);
        CHECK(test::max_rel_diff(test::record_lrs(s, opt, 60, momentum), fx.get(momentum ? "momentum" : "lr")) <
              1e-12);
        CHECK(opt.options(1).betas().second == 0.999);
    }
}

TEST_CASE("OneCycleLR resumes exactly and rejects bad options", "[optim][schedule]") {
    test::check_schedule_resume(
        [](LrControl& o) { return std::make_unique<OneCycleLR>(o, OneCycleOptions(0.2, 60).three_phase(true)); }, 21);

    TwoGroupSGD t;
    CHECK_THROWS_AS(OneCycleLR(t.opt, OneCycleOptions(0.1, 0)), ArgumentError);
    CHECK_THROWS_WITH(OneCycleLR(t.opt, OneCycleOptions(0.1, 0)),
                      Catch::Contains("expected positive total_steps, got 0"));
    CHECK_THROWS_WITH(OneCycleLR(t.opt, OneCycleOptions(0.1, 10).pct_start(1.5)),
                      Catch::Contains("expected pct_start between 0 and 1, got 1.5"));
    CHECK_THROWS_WITH(OneCycleLR(t.opt, OneCycleOptions(0.1, 10).pct_start(0.1)),
                      Catch::Contains("gives a phase of zero steps"));
    CHECK_THROWS_WITH(OneCycleLR(t.opt, OneCycleOptions(0.1, 10).max_lrs({0.1})),
                      Catch::Contains("expected 2 values for max_lrs, got 1"));
    CHECK_THROWS_WITH(OneCycleLR(t.opt, OneCycleOptions(0.1, 10).div_factor(0.0)),
                      Catch::Contains("div_factor and final_div_factor must be positive"));

    /// An LrControl without momentum: cycling needs one, PyTorch's check.
    struct NoMomentum : LrControl {
        std::string name() const override { return "Plain"; }
        std::size_t group_count() const override { return 1; }
        double lr(std::size_t) const override { return lr_; }
        void set_lr(std::size_t, double v) override { lr_ = v; }
        double lr_ = 0.1;
    } plain;
    CHECK_THROWS_WITH(OneCycleLR(plain, OneCycleOptions(0.1, 10)),
                      Catch::Contains("optimizer Plain must support momentum with cycle_momentum enabled"));
    OneCycleLR ok(plain, OneCycleOptions(0.1, 10).cycle_momentum(false));
    CHECK(plain.lr(0) == Approx(0.004));
    CHECK_THROWS_WITH(plain.momentum(0), Catch::Contains("Plain: has no momentum"));
}
