#include <catch2/catch.hpp>

#include "optim/optim_test_util.hpp"
#include "optim/update_kernel_check.hpp"
#include "strata/optim/adam.hpp"

using namespace strata;
using namespace strata::optim;
using strata::test::QuadSinProblem;

// The options below are those of OPTIMIZERS in tests/fixtures/generate_optim.py.

TEST_CASE("Adam matches torch.optim.Adam over 50 steps", "[optim][adam]") {
    SECTION("defaults but lr") {
        QuadSinProblem<double> prob("optim_adam.txt");
        Adam<double> opt(prob.params(), AdamOptions(0.05));
        prob.run_and_check(opt, 1e-12);
    }
    SECTION("AMSGrad with L2 weight decay") {
        QuadSinProblem<double> prob("optim_adam_amsgrad.txt");
        Adam<double> opt(prob.params(),
                         AdamOptions(0.04).betas({0.8, 0.95}).eps(1e-6).weight_decay(0.02).amsgrad(true));
        prob.run_and_check(opt, 1e-12);
    }
}

TEST_CASE("AdamW matches torch.optim.AdamW over 50 steps", "[optim][adam]") {
    SECTION("decoupled weight decay") {
        QuadSinProblem<double> prob("optim_adamw.txt");
        AdamW<double> opt(prob.params(), AdamWOptions(0.05).weight_decay(0.1));
        prob.run_and_check(opt, 1e-12);
    }
    SECTION("AMSGrad") {
        QuadSinProblem<double> prob("optim_adamw_amsgrad.txt");
        AdamW<double> opt(prob.params(), AdamWOptions(0.03).betas({0.85, 0.99}).weight_decay(0.05).amsgrad(true));
        prob.run_and_check(opt, 1e-12);
    }
    SECTION("no weight decay on the second group") {
        QuadSinProblem<double> prob("optim_adamw_groups.txt");
        AdamW<double> opt(AdamWOptions(0.05));
        opt.add_param_group({&prob.p0}, AdamWOptions(0.05).weight_decay(0.1));
        opt.add_param_group({&prob.p1}, AdamWOptions(0.02).weight_decay(0.0));
        prob.run_and_check(opt, 1e-12);
    }
}

TEST_CASE("Adam and AdamW in float follow the float64 reference", "[optim][adam]") {
    QuadSinProblem<float> adam("optim_adam_amsgrad.txt");
    Adam<float> opt(adam.params(), AdamOptions(0.04).betas({0.8, 0.95}).eps(1e-6).weight_decay(0.02).amsgrad(true));
    adam.run_and_check(opt, 1e-5);
    QuadSinProblem<float> adamw("optim_adamw.txt");
    AdamW<float> optw(adamw.params(), AdamWOptions(0.05).weight_decay(0.1));
    adamw.run_and_check(optw, 1e-5);
}

TEST_CASE("Adam has PyTorch's defaults and state names", "[optim][adam]") {
    CHECK(AdamOptions().lr() == 1e-3);
    CHECK(AdamOptions().betas() == AdamBetas(0.9, 0.999));
    CHECK(AdamOptions().eps() == 1e-8);
    CHECK(AdamOptions().weight_decay() == 0.0);
    CHECK(AdamWOptions().weight_decay() == 1e-2);
    CHECK_FALSE(AdamWOptions().amsgrad());

    Parameter<double> p(Tensor<double>(Shape{2, 2}));
    Adam<double> opt({&p}, AdamOptions().amsgrad(true));
    const auto names = opt.state_tensors();
    REQUIRE(names.size() == 4);
    CHECK(names[0].first == "group.0.param.0.step");
    CHECK(names[0].second->rank() == 0);
    CHECK(names[3].first == "group.0.param.0.max_exp_avg_sq");
    CHECK(names[3].second->shape() == Shape{2, 2});
    p.grad().fill(1.0);
    opt.step();
    opt.step();
    CHECK(opt.state(0, 0).step[0] == 2);
    // with a constant gradient the bias-corrected first step is lr * g / (|g| + eps) per element
    CHECK(p.value[0] == Approx(-2e-3).epsilon(1e-6));
}

TEST_CASE("Adam's momentum interface drives beta1", "[optim][adam]") {
    Parameter<float> p(Tensor<float>(Shape{1}));
    AdamW<float> opt({&p});
    CHECK(opt.has_momentum());
    opt.set_momentum(0, 0.85);
    CHECK(opt.options(0).betas().first == 0.85);
    CHECK(opt.options(0).betas().second == 0.999);
    CHECK(opt.momentum(0) == 0.85);
}

TEST_CASE("Adam rejects bad options with PyTorch's messages", "[optim][adam]") {
    Parameter<double> p(Tensor<double>(Shape{2}));
    CHECK_THROWS_AS(Adam<double>({&p}, AdamOptions(-1.0)), ArgumentError);
    CHECK_THROWS_WITH(Adam<double>({&p}, AdamOptions(-1.0)), Catch::Contains("Adam: invalid learning rate: -1"));
    CHECK_THROWS_WITH(Adam<double>({&p}, AdamOptions().eps(-1e-8)), Catch::Contains("invalid epsilon value: -1e-08"));
    CHECK_THROWS_WITH(Adam<double>({&p}, AdamOptions().betas({1.0, 0.999})),
                      Catch::Contains("invalid beta parameter at index 0: 1"));
    CHECK_THROWS_WITH(Adam<double>({&p}, AdamOptions().betas({0.9, -0.1})),
                      Catch::Contains("invalid beta parameter at index 1: -0.1"));
    CHECK_THROWS_WITH(AdamW<double>({&p}, AdamWOptions().weight_decay(-0.5)),
                      Catch::Contains("AdamW: invalid weight_decay value: -0.5"));
    CHECK_THROWS_WITH(AdamW<double>({&p}, AdamWOptions().betas({0.9, 1.5})),
                      Catch::Contains("AdamW: invalid beta parameter at index 1: 1.5"));
}

namespace {

/// Adam's rule written out in double, one step per call (decoupled = AdamW).
struct AdamReference {
    double lr, beta1, beta2, eps, weight_decay;
    bool decoupled, amsgrad;
    std::vector<double> m, v, vmax;
    int t = 0;

    void operator()(std::vector<double>& w, const std::vector<double>& g) {
        if (m.empty()) m.assign(w.size(), 0.0), v.assign(w.size(), 0.0), vmax.assign(w.size(), 0.0);
        ++t;
        const double bc1 = 1 - std::pow(beta1, t), bc2 = 1 - std::pow(beta2, t);
        for (std::size_t i = 0; i < w.size(); ++i) {
            if (decoupled) w[i] *= 1 - lr * weight_decay;
            const double gi = decoupled ? g[i] : g[i] + weight_decay * w[i];
            m[i] = beta1 * m[i] + (1 - beta1) * gi;
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
            vmax[i] = std::max(vmax[i], v[i]);
            const double second = amsgrad ? vmax[i] : v[i];
            w[i] -= lr / bc1 * m[i] / (std::sqrt(second) / std::sqrt(bc2) + eps);
        }
    }
};

template <class T>
void check_adam_kernels(double tol) {
    using Params = std::vector<Parameter<T>*>;
    SECTION("Adam with L2 weight decay and AMSGrad") {
        const AdamOptions o = AdamOptions(0.01).betas({0.8, 0.95}).eps(1e-6).weight_decay(0.02).amsgrad(true);
        strata::test::check_update_kernels<T>([&](Params ps) { return Adam<T>(ps, o); },
                                              AdamReference{0.01, 0.8, 0.95, 1e-6, 0.02, false, true, {}, {}, {}}, tol);
    }
    SECTION("Adam with defaults") {
        strata::test::check_update_kernels<T>([](Params ps) { return Adam<T>(ps, AdamOptions(0.01)); },
                                              AdamReference{0.01, 0.9, 0.999, 1e-8, 0, false, false, {}, {}, {}}, tol);
    }
    SECTION("AdamW") {
        const AdamWOptions o = AdamWOptions(0.01).weight_decay(0.1);
        strata::test::check_update_kernels<T>([&](Params ps) { return AdamW<T>(ps, o); },
                                              AdamReference{0.01, 0.9, 0.999, 1e-8, 0.1, true, false, {}, {}, {}}, tol);
    }
}

}  // namespace

TEST_CASE("Adam's and AdamW's update is the same on every kernel family and thread count", "[optim][adam][threads]") {
    SECTION("double") { check_adam_kernels<double>(1e-10); }
    SECTION("float") { check_adam_kernels<float>(1e-3); }
}
