#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "strata/autograd/tape.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/mean.hpp"
#include "strata/ops/relu.hpp"

using namespace strata;

namespace {
/// sqrt with the textbook backward 0.5 / sqrt(x): infinite at x == 0, NaN below.
template <class T>
Var<T> naive_sqrt(const Var<T>& x) {
    Tape& tape = x.tape();
    Var<T> out = tape.make_output<T>(x.shape(), tape.needs_grad(x));
    out.mutable_value().array() = x.value().array().sqrt();
    if (out.requires_grad())
        tape.record("naive_sqrt", out, [x, out] {
            x.grad().array() += out.grad().array() * T(0.5) / x.value().array().sqrt();
        });
    return out;
}
}  // namespace

TEST_CASE("Anomaly mode names the op whose forward produced a NaN", "[tape][anomaly]") {
    Tape tape;
    tape.set_detect_anomaly(true);
    Tensor<double> a(Shape{2, 2}, {1, 4, -1, 9});
    auto x = tape.variable(a);
    auto y = relu(x);
    CHECK_THROWS_AS(naive_sqrt(add(x, y)), NumericError);
    tape.rewind();
    auto x2 = tape.variable(a);
    try {
        naive_sqrt(x2);
        FAIL("no exception");
    } catch (const NumericError& e) {
        const std::string msg = e.what();
        CHECK(msg.find("forward of op 'naive_sqrt'") != std::string::npos);
        CHECK(msg.find("element 2") != std::string::npos);
        CHECK(msg.find("[2, 2]") != std::string::npos);
    }
}

TEST_CASE("Anomaly mode names the op whose backward wrote a non-finite gradient", "[tape][anomaly]") {
    Tape tape;
    tape.set_detect_anomaly(true);
    Tensor<float> a(Shape{3}, {0.0f, 1.0f, 4.0f});  // sqrt(0) is fine forward, its gradient is infinite
    auto x = tape.variable(a);
    auto loss = mean(relu(naive_sqrt(x)));
    try {
        loss.backward();
        FAIL("no exception");
    } catch (const NumericError& e) {
        const std::string msg = e.what();
        CHECK(msg.find("backward of op 'naive_sqrt'") != std::string::npos);
        CHECK(msg.find("element 0") != std::string::npos);
    }
    // Without anomaly mode the same step runs through and leaves the NaN in the gradient.
    Tape quiet;
    auto x2 = quiet.variable(a);
    mean(relu(naive_sqrt(x2))).backward();
    CHECK_FALSE(std::isfinite(x2.grad()[0]));  // relu passes 0, and 0 * inf is NaN
    CHECK_FALSE(quiet.detect_anomaly());
}

TEST_CASE("Anomaly mode is silent on finite values and can be switched off", "[tape][anomaly]") {
    Tape tape;
    tape.set_detect_anomaly(true);
    Tensor<double> a(Shape{4}, {1, 2, 3, 4});
    auto x = tape.variable(a);
    mean(naive_sqrt(x)).backward();
    CHECK(x.grad()[3] == Approx(0.25 * 0.5 / 2));
    tape.set_detect_anomaly(false);
    tape.rewind();
    Tensor<double> neg(Shape{1}, {-1});
    auto bad = naive_sqrt(tape.variable(neg));
    CHECK(std::isnan(bad.value()[0]));
}
