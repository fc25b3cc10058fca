// Tests of nn/deep_supervision.hpp on hand-made logits (the model-level cases are in aux_head_test.cpp):
// classification_loss picks its op, AuxWeight's schedules and errors, the weighted total and its parts, per-head
// weights, the threshold, and the weight-count check.

#include <catch2/catch.hpp>

#include "strata/nn/deep_supervision.hpp"

using namespace strata;
using namespace strata::nn;

namespace {
Tensor<double> logits(std::uint64_t seed) {
    Tensor<double> t(Shape{3, 4});
    Generator g(seed);
    t.fill_normal(g);
    return t;
}
const std::vector<index_t> labels{0, 3, 1};
}  // namespace

TEST_CASE("classification_loss is cross_entropy or squared_hinge_loss", "[nn][deep_supervision]") {
    const auto l = logits(1);
    Tape tape;
    const Var<double> v = tape.constant(l);
    CHECK(classification_loss(LossKind::cross_entropy, v, labels).item() == cross_entropy(v, labels).item());
    CHECK(classification_loss(LossKind::squared_hinge, v, labels).item() == squared_hinge_loss(v, labels).item());
    CHECK(cross_entropy(v, labels).item() != squared_hinge_loss(v, labels).item());
}

TEST_CASE("AuxWeight schedules: constant, linear fade to zero, exponential decay", "[nn][deep_supervision]") {
    CHECK(AuxWeight::constant(0.3).at(100) == 0.3);
    const AuxWeight lin = AuxWeight::linear_decay(0.5, 10);
    CHECK(lin.at(0) == 0.5);
    CHECK(lin.at(5) == Approx(0.25));
    CHECK(lin.at(10) == 0.0);
    CHECK(lin.at(20) == 0.0);  // never negative
    CHECK(AuxWeight::exponential_decay(2.0, 0.5).at(2) == Approx(0.5));
    CHECK_THROWS_WITH(AuxWeight::linear_decay(0.5, 0), Catch::Contains("got 0"));
    CHECK_THROWS_WITH(AuxWeight::exponential_decay(1, 1.5), Catch::Contains("got 1.5"));
    CHECK_THROWS_WITH(AuxWeight::exponential_decay(1, 0), Catch::Contains("got 0"));
}

TEST_CASE("DeepSupervisionLoss sums the main loss and per-head weighted aux losses", "[nn][deep_supervision]") {
    const auto m = logits(2), a = logits(3), b = logits(4);
    Tape tape;
    Outputs<double> out{tape.variable(m), {tape.variable(a), tape.variable(b)}, {"aux1", "aux2"}};
    DeepSupervisionLoss<double> loss(
        DeepSupervisionOptions().aux_loss(LossKind::squared_hinge).weights({AuxWeight::constant(0.1), AuxWeight::constant(0.7)}));
    const Var<double> total = loss(out, labels);
    const double lm = cross_entropy(out.main, labels).item();
    const double la = squared_hinge_loss(out.aux[0], labels).item(), lb = squared_hinge_loss(out.aux[1], labels).item();
    CHECK(total.item() == Approx(lm + 0.1 * la + 0.7 * lb).epsilon(1e-12));
    CHECK(loss.parts().main == Approx(lm));
    CHECK(loss.parts().aux == std::vector<double>{la, lb});
    CHECK(loss.parts().weights == std::vector<double>{0.1, 0.7});
    // Parts are replaced, not appended, on the next call; no heads: only the main loss.
    Outputs<double> main_only{out.main, {}, {}};
    CHECK(loss(main_only, labels).item() == Approx(lm));
    CHECK(loss.parts().aux.empty());
    // Each head's logits get its weight times its loss's gradient.
    total.backward();
    const Tensor<double> ga = Tensor<double>::from(out.aux[0].grad());
    const Tensor<double> gb = Tensor<double>::from(out.aux[1].grad());
    Tape alone;
    const Var<double> va = alone.variable(a);
    squared_hinge_loss(va, labels).backward();
    CHECK(ga.array().isApprox(0.1 * va.grad().array(), 1e-12));
    Tape alone_b;
    const Var<double> vb = alone_b.variable(b);
    squared_hinge_loss(vb, labels).backward();
    CHECK(gb.array().isApprox(0.7 * vb.grad().array(), 1e-12));
}

TEST_CASE("DeepSupervisionLoss drops heads below the threshold and checks the weight count", "[nn][deep_supervision]") {
    const auto m = logits(5), a = logits(6);
    Tape tape;
    Outputs<double> out{tape.constant(m), {tape.constant(a)}, {"aux1"}};
    const double la = cross_entropy(out.aux[0], labels).item();
    DeepSupervisionLoss<double> below(DeepSupervisionOptions().threshold(la + 1e-9));
    CHECK(below(out, labels).item() == Approx(cross_entropy(out.main, labels).item()));
    CHECK(below.parts().weights == std::vector<double>{0.0});
    DeepSupervisionLoss<double> above(DeepSupervisionOptions().threshold(la - 1e-9));
    CHECK(above.parts().weights.empty());
    above(out, labels);
    CHECK(above.parts().weights == std::vector<double>{0.3});
    DeepSupervisionLoss<double> two(DeepSupervisionOptions().weights({AuxWeight::constant(1), AuxWeight::constant(1)}));
    CHECK_THROWS_WITH(two(out, labels), Catch::Contains("2 weights for 1 auxiliary heads"));
    CHECK_THROWS_WITH(DeepSupervisionLoss<double>(DeepSupervisionOptions().weights({})),
                      Catch::Contains("at least one weight"));
}
