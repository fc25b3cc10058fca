#include <catch2/catch.hpp>

#include "optim/optim_test_util.hpp"
#include "optim/update_kernel_check.hpp"
#include "strata/optim/rmsprop.hpp"

using namespace strata;
using namespace strata::optim;
using strata::test::QuadSinProblem;

// The options below are those of OPTIMIZERS in tests/fixtures/generate_optim.py.

TEST_CASE("RMSprop matches torch.optim.RMSprop over 50 steps", "[optim][rmsprop]") {
    SECTION("defaults but lr") {
        QuadSinProblem<double> prob("optim_rmsprop.txt");
        RMSprop<double> opt(prob.params(), RMSpropOptions(0.01));
        prob.run_and_check(opt, 1e-12);
    }
    SECTION("centered with momentum and weight decay") {
        QuadSinProblem<double> prob("optim_rmsprop_centered.txt");
        RMSprop<double> opt(
            prob.params(),
            RMSpropOptions(0.005).alpha(0.9).eps(1e-6).weight_decay(0.01).momentum(0.7).centered(true));
        prob.run_and_check(opt, 1e-12);
    }
}

TEST_CASE("RMSprop in float follows the float64 reference", "[optim][rmsprop]") {
    QuadSinProblem<float> prob("optim_rmsprop_centered.txt");
    RMSprop<float> opt(prob.params(),
                       RMSpropOptions(0.005).alpha(0.9).eps(1e-6).weight_decay(0.01).momentum(0.7).centered(true));
    prob.run_and_check(opt, 1e-5);
}

TEST_CASE("RMSprop has PyTorch's defaults and keeps only the state its options need", "[optim][rmsprop]") {
    const RMSpropOptions d;
    CHECK(d.lr() == 1e-2);
    CHECK(d.alpha() == 0.99);
    CHECK(d.eps() == 1e-8);
    CHECK(d.momentum() == 0.0);
    CHECK_FALSE(d.centered());

    Parameter<double> p(Tensor<double>(Shape{3}));
    RMSprop<double> plain({&p});
    CHECK(plain.state_tensors().size() == 2);  // step, square_avg
    Parameter<double> q(Tensor<double>(Shape{3}));
    RMSprop<double> full({&q}, RMSpropOptions().momentum(0.5).centered(true));
    const auto names = full.state_tensors();
    REQUIRE(names.size() == 4);
    CHECK(names[2].first == "group.0.param.0.momentum_buffer");
    CHECK(names[3].first == "group.0.param.0.grad_avg");
}

TEST_CASE("RMSprop rejects bad options with PyTorch's messages", "[optim][rmsprop]") {
    Parameter<double> p(Tensor<double>(Shape{2}));
    CHECK_THROWS_AS(RMSprop<double>({&p}, RMSpropOptions(-0.01)), ArgumentError);
    CHECK_THROWS_WITH(RMSprop<double>({&p}, RMSpropOptions(-0.01)),
                      Catch::Contains("RMSprop: invalid learning rate: -0.01"));
    CHECK_THROWS_WITH(RMSprop<double>({&p}, RMSpropOptions().eps(-1.0)), Catch::Contains("invalid epsilon value: -1"));
    CHECK_THROWS_WITH(RMSprop<double>({&p}, RMSpropOptions().momentum(-0.9)),
                      Catch::Contains("invalid momentum value: -0.9"));
    CHECK_THROWS_WITH(RMSprop<double>({&p}, RMSpropOptions().weight_decay(-2.0)),
                      Catch::Contains("invalid weight_decay value: -2"));
    CHECK_THROWS_WITH(RMSprop<double>({&p}, RMSpropOptions().alpha(-0.99)),
                      Catch::Contains("invalid alpha value: -0.99"));
}

namespace {

/// RMSprop's rule written out in double, one step per call.
struct RMSpropReference {
    double lr, alpha, eps, weight_decay, momentum;
    bool centered;
    std::vector<double> square_avg, grad_avg, buf;

    void operator()(std::vector<double>& w, const std::vector<double>& g) {
        if (square_avg.empty()) square_avg.assign(w.size(), 0.0), grad_avg.assign(w.size(), 0.0), buf.assign(w.size(), 0.0);
        for (std::size_t i = 0; i < w.size(); ++i) {
            const double gi = g[i] + weight_decay * w[i];
            square_avg[i] = alpha * square_avg[i] + (1 - alpha) * gi * gi;
            grad_avg[i] = alpha * grad_avg[i] + (1 - alpha) * gi;
            const double avg =
                std::sqrt(centered ? square_avg[i] - grad_avg[i] * grad_avg[i] : square_avg[i]) + eps;
            if (momentum > 0) {
                buf[i] = momentum * buf[i] + gi / avg;
                w[i] -= lr * buf[i];
            } else {
                w[i] -= lr * gi / avg;
            }
        }
    }
};

template <class T>
void check_rmsprop_kernels(double tol) {
    using Params = std::vector<Parameter<T>*>;
    SECTION("centered with momentum and weight decay") {
        const RMSpropOptions o = RMSpropOptions(0.001).alpha(0.9).momentum(0.8).weight_decay(0.05).centered(true);
        strata::test::check_update_kernels<T>([&](Params ps) { return RMSprop<T>(ps, o); },
                                              RMSpropReference{0.001, 0.9, 1e-8, 0.05, 0.8, true, {}, {}, {}}, tol);
    }
    SECTION("defaults") {
        strata::test::check_update_kernels<T>([](Params ps) { return RMSprop<T>(ps, RMSpropOptions(0.001)); },
                                              RMSpropReference{0.001, 0.99, 1e-8, 0, 0, false, {}, {}, {}}, tol);
    }
}

}  // namespace

TEST_CASE("RMSprop's update is the same on every kernel family and thread count", "[optim][rmsprop][threads]") {
    SECTION("double") { check_rmsprop_kernels<double>(1e-10); }
    SECTION("float") { check_rmsprop_kernels<float>(1e-3); }
}
