#include <catch2/catch.hpp>

#include <cmath>

#include "optim/optim_test_util.hpp"
#include "strata/optim/schedule.hpp"

using namespace strata;
using namespace strata::optim;
using strata::test::TwoGroupSGD;

TEST_CASE("ScheduleDriver steps per iteration or per epoch", "[optim][schedule]") {
    TwoGroupSGD per_iteration, per_epoch;
    ScheduleDriver it(std::make_unique<ExponentialLR>(per_iteration.opt, 0.5), StepUnit::iteration);
    ScheduleDriver ep(std::make_unique<ExponentialLR>(per_epoch.opt, 0.5), StepUnit::epoch);
    for (int epoch = 0; epoch < 2; ++epoch) {
        for (int i = 0; i < 3; ++i) {
            it.after_iteration();
            ep.after_iteration();
        }
        it.after_epoch();
        ep.after_epoch();
    }
    CHECK(it.schedule()->last_epoch() == 6);
    CHECK(per_iteration.opt.lr(0) == Approx(0.1 / 64));
    CHECK(ep.schedule()->last_epoch() == 2);
    CHECK(per_epoch.opt.lr(0) == Approx(0.1 / 4));
    CHECK(it.unit() == StepUnit::iteration);
    CHECK(ep.plateau() == nullptr);
}

TEST_CASE("ScheduleDriver feeds ReduceLROnPlateau the epoch's metric", "[optim][schedule]") {
    TwoGroupSGD t;
    ScheduleDriver d(std::make_unique<ReduceLROnPlateau>(t.opt, PlateauOptions().patience(0)));
    d.after_iteration();  // nothing
    d.after_epoch(1.0);
    CHECK(t.opt.lr(0) == 0.1);
    d.after_epoch(1.0);  // no improvement, patience 0: reduce
    CHECK(t.opt.lr(0) == Approx(0.01));
    CHECK_THROWS_WITH(d.after_epoch(), Catch::Contains("ReduceLROnPlateau needs the epoch's metric"));
    d.after_epoch(std::nan(""));  // a diverged run: no improvement, as in PyTorch
    CHECK(t.opt.lr(0) == Approx(0.001));

    ScheduleDriver copy(std::make_unique<ReduceLROnPlateau>(t.opt, PlateauOptions().patience(0)));
    copy.load_state(d.state());
    CHECK(copy.plateau()->best() == 1.0);

    ScheduleDriver none;
    none.after_iteration();
    none.after_epoch();
    CHECK(none.state().empty());
    CHECK_THROWS_WITH(none.load_state({1.0}), Catch::Contains("no schedule to load a state of 1 values into"));
    CHECK_THROWS_WITH(ScheduleDriver(std::unique_ptr<LrSchedule>(), StepUnit::epoch),
                      Catch::Contains("the schedule is null"));
}
