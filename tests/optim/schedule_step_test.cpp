#include <catch2/catch.hpp>

#include "optim/optim_test_util.hpp"
#include "strata/optim/schedule/step.hpp"

using namespace strata;
using namespace strata::optim;
using strata::test::Fixture;
using strata::test::TwoGroupSGD;

// Options as in tests/fixtures/generate_optim.py, schedule_cases().

TEST_CASE("StepLR matches torch.optim.lr_scheduler.StepLR", "[optim][schedule]") {
    TwoGroupSGD t;
    StepLR s(t.opt, 7, 0.5);
    CHECK(s.last_epoch() == 0);
    CHECK(test::max_rel_diff(test::record_lrs(s, t.opt, 60), Fixture("sched_step.txt").get("lr")) < 1e-12);
    CHECK(s.last_epoch() == 60);
    CHECK(s.base_lrs() == std::vector<double>{0.1, 0.02});
}

TEST_CASE("MultiStepLR matches torch.optim.lr_scheduler.MultiStepLR, repeated milestones included",
          "[optim][schedule]") {
    TwoGroupSGD t;
    MultiStepLR s(t.opt, {30, 12, 5, 12}, 0.3);  // unsorted on purpose
    CHECK(s.milestones() == std::vector<index_t>{5, 12, 12, 30});
    CHECK(test::max_rel_diff(test::record_lrs(s, t.opt, 60), Fixture("sched_multistep.txt").get("lr")) < 1e-12);
}

TEST_CASE("ExponentialLR matches torch.optim.lr_scheduler.ExponentialLR", "[optim][schedule]") {
    TwoGroupSGD t;
    ExponentialLR s(t.opt, 0.93);
    CHECK(test::max_rel_diff(test::record_lrs(s, t.opt, 60), Fixture("sched_exponential.txt").get("lr")) < 1e-12);
}

TEST_CASE("Step schedules: closed form jump, resume, errors", "[optim][schedule]") {
    const Tensor<double> ref = Fixture("sched_multistep.txt").get("lr");
    TwoGroupSGD t;
    MultiStepLR s(t.opt, {5, 12, 12, 30}, 0.3);
    s.jump_to(40);
    CHECK(t.opt.lr(0) == Approx(ref.at(40, 0)).epsilon(1e-14));
    s.jump_to(12);
    CHECK(t.opt.lr(1) == Approx(ref.at(12, 1)).epsilon(1e-14));
    CHECK_THROWS_WITH(s.jump_to(-1), Catch::Contains("MultiStepLR: cannot jump to negative epoch -1"));

    test::check_schedule_resume([](LrControl& o) { return std::make_unique<StepLR>(o, 7, 0.5); }, 20);
    test::check_schedule_resume([](LrControl& o) { return std::make_unique<ExponentialLR>(o, 0.9); }, 33);

    TwoGroupSGD u;
    CHECK_THROWS_AS(StepLR(u.opt, 0), ArgumentError);
    CHECK_THROWS_WITH(StepLR(u.opt, 0), Catch::Contains("StepLR: step_size must be at least 1, got 0"));
    CHECK_THROWS_WITH(MultiStepLR(u.opt, {3, -2}), Catch::Contains("milestones must be non-negative, got -2"));
    CHECK_THROWS_WITH(ExponentialLR(u.opt, -0.5), Catch::Contains("gamma must be finite and >= 0, got -0.5"));
    StepLR ok(u.opt, 3);
    CHECK_THROWS_WITH(ok.load_state({1.0, 2.0}), Catch::Contains("StepLR: state has 2 values, expected 5"));
    SGD<double> empty(SGDOptions(0.1));
    CHECK_THROWS_WITH(StepLR(empty, 3), Catch::Contains("StepLR: the optimizer has no parameter groups"));
}
