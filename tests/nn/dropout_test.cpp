// Tests of nn/dropout.hpp: inverted dropout in training (zeros at rate p, survivors scaled by 1/(1-p)), the
// identity in eval, reproducible masks after manual_seed, p = 0 and p = 1, and the probability check.

#include <catch2/catch.hpp>

#include "strata/nn/dropout.hpp"

using namespace strata;
using namespace strata::nn;

TEST_CASE("Dropout zeroes about p of the elements in training and scales the rest", "[nn][dropout]") {
    Dropout<double> drop(0.25);
    CHECK(drop.parameters().empty());
    Tensor<double> x(Shape{100, 100}, 2.0);
    Tape tape;
    const Tensor<double> y = drop(tape.constant(x)).to_tensor();
    index_t zeros = 0;
    for (index_t i = 0; i < y.numel(); ++i) {
        if (y[i] == 0.0)
            ++zeros;
        else
            CHECK(y[i] == Approx(2.0 / 0.75));
    }
    CHECK(zeros > 2300);  // 2500 expected; the binomial's sd is about 43
    CHECK(zeros < 2700);
    drop.eval();
    const Tensor<double> e = drop(tape.constant(x)).to_tensor();
    CHECK(e.array().isApprox(x.array(), 0.0));
}

TEST_CASE("Dropout masks are reproducible after manual_seed and differ between steps", "[nn][dropout]") {
    Tensor<float> x(Shape{64}, 1.0f);
    auto masks = [&] {
        manual_seed(5);
        Dropout<float> drop(0.5);
        Tape tape;
        std::vector<Tensor<float>> out;
        for (int i = 0; i < 2; ++i) out.push_back(drop(tape.constant(x)).to_tensor());
        return out;
    };
    const auto a = masks(), b = masks();
    CHECK(a[0].array().isApprox(b[0].array(), 0.0f));
    CHECK(a[1].array().isApprox(b[1].array(), 0.0f));
    CHECK_FALSE(a[0].array().isApprox(a[1].array(), 0.0f));
}

TEST_CASE("Dropout with p = 0 is the identity, p = 1 zeroes all, and p outside [0, 1] is refused", "[nn][dropout]") {
    Tensor<float> x(Shape{10}, 3.0f);
    Tape tape;
    Dropout<float> none(0.0), all(1.0);
    CHECK(none(tape.constant(x)).value().array().isApprox(x.array(), 0.0f));
    CHECK(all(tape.constant(x)).value().array().isZero());
    CHECK_THROWS_WITH(Dropout<float>(1.5), Catch::Contains("got 1.5"));
    CHECK_THROWS_WITH(Dropout<float>(-0.1), Catch::Contains("got -0.1"));
}
