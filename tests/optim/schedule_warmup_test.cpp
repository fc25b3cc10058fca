#include <catch2/catch.hpp>

#include "optim/optim_test_util.hpp"
#include "strata/optim/schedule/cosine.hpp"
#include "strata/optim/schedule/step.hpp"
#include "strata/optim/schedule/warmup.hpp"

using namespace strata;
using namespace strata::optim;
using strata::test::Fixture;
using strata::test::TwoGroupSGD;

// PyTorch reference: SequentialLR([LinearLR(start_factor, total_iters=warmup), inner], milestones=[warmup]).

TEST_CASE("LinearWarmup then cosine matches PyTorch's SequentialLR", "[optim][schedule]") {
    TwoGroupSGD t;
    LinearWarmup s(std::make_unique<CosineAnnealingLR>(t.opt, 52), 8, 0.1);
    CHECK(t.opt.lr(0) == Approx(0.01));
    CHECK(test::max_rel_diff(test::record_lrs(s, t.opt, 60), Fixture("sched_warmup_cosine.txt").get("lr")) < 1e-12);
    CHECK(s.last_epoch() == 60);
    CHECK(s.inner().last_epoch() == 52);
}

TEST_CASE("LinearWarmup then multi-step matches PyTorch's SequentialLR", "[optim][schedule]") {
    TwoGroupSGD t;
    LinearWarmup s(std::make_unique<MultiStepLR>(t.opt, std::vector<index_t>{10, 30}, 0.5), 5, 0.25);
    const Tensor<double> ref = Fixture("sched_warmup_multistep.txt").get("lr");
    CHECK(test::max_rel_diff(test::record_lrs(s, t.opt, 60), ref) < 1e-12);
    for (index_t e : {0, 3, 5, 17, 44}) {
        s.jump_to(e);
        CHECK(t.opt.lr(0) == Approx(ref.at(e, 0)).epsilon(1e-14));
    }
}

TEST_CASE("LinearWarmup resumes exactly and rejects bad arguments", "[optim][schedule]") {
    auto make = [](LrControl& o) {
        return std::make_unique<LinearWarmup>(std::make_unique<CosineAnnealingLR>(o, 40, 1e-4), 8, 0.1);
    };
    test::check_schedule_resume(make, 5);   // inside the warm-up
    test::check_schedule_resume(make, 8);   // at the switch
    test::check_schedule_resume(make, 27);  // in the inner schedule

    TwoGroupSGD t;
    CHECK_THROWS_WITH(LinearWarmup(nullptr, 5), Catch::Contains("LinearWarmup: the inner schedule is null"));
    CHECK_THROWS_WITH(LinearWarmup(std::make_unique<StepLR>(t.opt, 3), 0),
                      Catch::Contains("warmup_steps must be at least 1, got 0"));
    CHECK_THROWS_WITH(LinearWarmup(std::make_unique<StepLR>(t.opt, 3), 4, 0.0),
                      Catch::Contains("start_factor must be in (0, 1], got 0"));
    LinearWarmup ok(std::make_unique<StepLR>(t.opt, 3), 4);
    CHECK_THROWS_WITH(ok.load_state({0.0, 0.1, 0.02, 0.1, 0.02}), Catch::Contains("expected more than 5"));
}
