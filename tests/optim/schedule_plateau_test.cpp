#include <catch2/catch.hpp>

#include "optim/optim_test_util.hpp"
#include "strata/optim/schedule/plateau.hpp"

using namespace strata;
using namespace strata::optim;
using strata::test::Fixture;
using strata::test::TwoGroupSGD;

namespace {
/// Feeds the fixture's metric and compares the lrs after each step with PyTorch's.
void check_plateau(const std::string& file, const PlateauOptions& options) {
    const Fixture fx(file);
    const Tensor<double> metric = fx.get("metric");
    const Tensor<double> ref = fx.get("lr");
    TwoGroupSGD t;
    ReduceLROnPlateau s(t.opt, options);
    Tensor<double> lrs(ref.shape());
    for (index_t i = 0; i <= metric.numel(); ++i) {
        if (i > 0) s.step(metric[i - 1]);
        lrs.at(i, 0) = t.opt.lr(0);
        lrs.at(i, 1) = t.opt.lr(1);
    }
    CHECK(test::max_rel_diff(lrs, ref) < 1e-12);
    CHECK(s.last_epoch() == metric.numel());
}
}  // namespace

TEST_CASE("ReduceLROnPlateau (min, relative threshold, cooldown, min_lr) matches PyTorch", "[optim][schedule]") {
    check_plateau("sched_plateau.txt",
                  PlateauOptions().factor(0.5).patience(3).threshold(0.01).cooldown(2).min_lrs({0.001, 0.005}));
}

TEST_CASE("ReduceLROnPlateau (max, absolute threshold, eps) matches PyTorch", "[optim][schedule]") {
    check_plateau("sched_plateau_max_abs.txt", PlateauOptions()
                                                   .mode(PlateauMode::max)
                                                   .factor(0.3)
                                                   .patience(2)
                                                   .threshold(0.05)
                                                   .threshold_mode(ThresholdMode::abs));
}

TEST_CASE("ReduceLROnPlateau resumes exactly and rejects bad options", "[optim][schedule]") {
    const Tensor<double> metric = Fixture("sched_plateau.txt").get("metric");
    const auto options = PlateauOptions().factor(0.5).patience(3).threshold(0.01).cooldown(2).min_lr(0.001);
    TwoGroupSGD a, b, c;
    ReduceLROnPlateau straight(a.opt, options), first(b.opt, options);
    CHECK(straight.best() == std::numeric_limits<double>::infinity());
    for (index_t i = 0; i < 60; ++i) straight.step(metric[i]);
    for (index_t i = 0; i < 29; ++i) first.step(metric[i]);
    ReduceLROnPlateau resumed(c.opt, options);
    resumed.load_state(first.state());
    CHECK(resumed.cooldown_counter() == first.cooldown_counter());
    for (index_t i = 29; i < 60; ++i) resumed.step(metric[i]);
    CHECK(c.opt.lr(0) == a.opt.lr(0));
    CHECK(c.opt.lr(1) == a.opt.lr(1));
    CHECK(resumed.best() == straight.best());
    CHECK(resumed.num_bad_epochs() == straight.num_bad_epochs());

    CHECK_THROWS_AS(ReduceLROnPlateau(a.opt, PlateauOptions().factor(1.0)), ArgumentError);
    CHECK_THROWS_WITH(ReduceLROnPlateau(a.opt, PlateauOptions().factor(1.0)),
                      Catch::Contains("factor should be < 1.0, got 1"));
    CHECK_THROWS_WITH(ReduceLROnPlateau(a.opt, PlateauOptions().patience(-1)),
                      Catch::Contains("patience and cooldown must be non-negative, got -1 and 0"));
    CHECK_THROWS_WITH(ReduceLROnPlateau(a.opt, PlateauOptions().min_lrs({0.1, 0.2, 0.3})),
                      Catch::Contains("expected 2 min_lrs, got 3"));
    CHECK_THROWS_WITH(resumed.load_state({1.0}), Catch::Contains("state has 1 values, expected 6"));
}
