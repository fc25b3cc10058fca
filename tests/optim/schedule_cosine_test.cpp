#include <catch2/catch.hpp>

#include "optim/optim_test_util.hpp"
#include "strata/optim/schedule/cosine.hpp"

using namespace strata;
using namespace strata::optim;
using strata::test::Fixture;
using strata::test::TwoGroupSGD;

TEST_CASE("CosineAnnealingLR matches PyTorch, also past T_max", "[optim][schedule]") {
    TwoGroupSGD t;
    CosineAnnealingLR s(t.opt, 25, 0.001);
    const Tensor<double> ref = Fixture("sched_cosine.txt").get("lr");
    CHECK(test::max_rel_diff(test::record_lrs(s, t.opt, 60), ref) < 1e-12);
    // the closed form agrees (to rounding) where PyTorch's chained form is used
    for (index_t e : {0, 7, 25, 38, 50}) {
        s.jump_to(e);
        CHECK(t.opt.lr(0) == Approx(ref.at(e, 0)).epsilon(1e-12));
        CHECK(t.opt.lr(1) == Approx(ref.at(e, 1)).epsilon(1e-12));
    }
}

TEST_CASE("CosineAnnealingLR resumes exactly and rejects bad options", "[optim][schedule]") {
    test::check_schedule_resume([](LrControl& o) { return std::make_unique<CosineAnnealingLR>(o, 25, 0.001); }, 31);
    TwoGroupSGD t;
    CHECK_THROWS_AS(CosineAnnealingLR(t.opt, 0), ArgumentError);
    CHECK_THROWS_WITH(CosineAnnealingLR(t.opt, 0), Catch::Contains("T_max must be at least 1, got 0"));
    CHECK_THROWS_WITH(CosineAnnealingLR(t.opt, 10, -1.0), Catch::Contains("eta_min must be finite and >= 0, got -1"));
}
