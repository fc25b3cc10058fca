#include <catch2/catch.hpp>

#include "optim/optim_test_util.hpp"
#include "strata/optim/sgd.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

using namespace strata;
using namespace strata::optim;
using strata::test::QuadSinProblem;

// The options below are those of OPTIMIZERS in tests/fixtures/generate_optim.py.

TEST_CASE("SGD matches torch.optim.SGD over 50 steps", "[optim][sgd]") {
    SECTION("plain") {
        QuadSinProblem<double> prob("optim_sgd_plain.txt");
        SGD<double> opt(prob.params(), SGDOptions(0.05));
        prob.run_and_check(opt, 1e-12);
    }
    SECTION("momentum, dampening and weight decay") {
        QuadSinProblem<double> prob("optim_sgd_momentum.txt");
        SGD<double> opt(prob.params(), SGDOptions(0.03).momentum(0.9).dampening(0.2).weight_decay(0.01));
        prob.run_and_check(opt, 1e-12);
    }
    SECTION("Nesterov with weight decay") {
        QuadSinProblem<double> prob("optim_sgd_nesterov.txt");
        SGD<double> opt(prob.params(), SGDOptions(0.03).momentum(0.85).nesterov(true).weight_decay(0.005));
        prob.run_and_check(opt, 1e-12);
    }
    SECTION("two groups with their own options") {
        QuadSinProblem<double> prob("optim_sgd_groups.txt");
        SGD<double> opt(SGDOptions(0.04).momentum(0.9));
        opt.add_param_group({&prob.p0}, SGDOptions(0.04).momentum(0.9).weight_decay(0.01));
        opt.add_param_group({&prob.p1}, SGDOptions(0.1).momentum(0.5));
        prob.run_and_check(opt, 1e-12);
    }
}

TEST_CASE("SGD in float follows the float64 reference", "[optim][sgd]") {
    QuadSinProblem<float> prob("optim_sgd_nesterov.txt");
    SGD<float> opt(prob.params(), SGDOptions(0.03).momentum(0.85).nesterov(true).weight_decay(0.005));
    prob.run_and_check(opt, 1e-5);
}

TEST_CASE("SGD's first momentum step copies the gradient, later ones damp it", "[optim][sgd]") {
    Parameter<double> p(Tensor<double>(Shape{2}, {1.0, -2.0}));
    SGD<double> opt({&p}, SGDOptions(0.5).momentum(0.9).dampening(0.5));
    CHECK(opt.state(0, 0).momentum_steps[0] == 0);
    p.grad() = Tensor<double>(Shape{2}, {0.2, 0.4});
    opt.step();  // b = g = (0.2, 0.4); p -= 0.5 b
    CHECK(opt.state(0, 0).momentum_buffer[0] == 0.2);
    CHECK(p.value[0] == Approx(0.9));
    CHECK(p.value[1] == Approx(-2.2));
    opt.step();  // b = 0.9 b + 0.5 g = (0.28, 0.56)
    CHECK(opt.state(0, 0).momentum_buffer[1] == Approx(0.56));
    CHECK(p.value[0] == Approx(0.9 - 0.14));
    CHECK(opt.state(0, 0).momentum_steps[0] == 2);
}

TEST_CASE("SGD without momentum keeps no state", "[optim][sgd]") {
    Parameter<float> p(Tensor<float>(Shape{3}));
    SGD<float> opt({&p}, SGDOptions(0.1));
    CHECK(opt.state_tensors().empty());
    opt.set_momentum(0, 0.9);  // switched on later: the buffer appears and starts from the gradient
    p.grad().fill(1.0f);
    opt.step();
    REQUIRE(opt.state_tensors().size() == 2);
    CHECK(opt.state_tensors()[0].first == "group.0.param.0.momentum_buffer");
    CHECK((*opt.state_tensors()[0].second)[2] == 1.0f);
}

TEST_CASE("SGD rejects bad options with PyTorch's messages", "[optim][sgd]") {
    Parameter<double> p(Tensor<double>(Shape{2}));
    CHECK_THROWS_AS(SGD<double>({&p}, SGDOptions(-0.1)), ArgumentError);
    CHECK_THROWS_WITH(SGD<double>({&p}, SGDOptions(-0.1)), Catch::Contains("SGD: invalid learning rate: -0.1"));
    CHECK_THROWS_WITH(SGD<double>({&p}, SGDOptions(0.1).momentum(-0.5)),
                      Catch::Contains("invalid momentum value: -0.5"));
    CHECK_THROWS_WITH(SGD<double>({&p}, SGDOptions(0.1).weight_decay(-1e-4)),
                      Catch::Contains("invalid weight_decay value: -0.0001"));
    CHECK_THROWS_WITH(SGD<double>({&p}, SGDOptions(0.1).nesterov(true)),
                      Catch::Contains("Nesterov momentum requires a momentum and zero dampening") &&
                          Catch::Contains("momentum 0"));
    CHECK_THROWS_WITH(SGD<double>({&p}, SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)),
                      Catch::Contains("dampening 0.1"));
    CHECK_THROWS_WITH(SGD<double>({}, SGDOptions(0.1)), Catch::Contains("SGD: got an empty parameter list"));
    CHECK_NOTHROW(SGDOptions(0.1).momentum(0.9).nesterov(true).validate());
    // an option made invalid between steps is caught at the next step
    SGD<double> opt({&p}, SGDOptions(0.1));
    opt.options(0).momentum(-1.0);
    CHECK_THROWS_WITH(opt.step(), Catch::Contains("invalid momentum value: -1"));
}

TEST_CASE("SGD and zero_grad on a parameter split over threads give the same result on any thread count",
          "[optim][sgd][threads]") {
    // Over five times parallel_split's threshold, a length no multiple of 16; two momentum steps (the first copies the
    // gradient into the buffer, the second blends).
    const index_t n = 5 * strata::detail::elementwise_split_min + 123;
    auto run = [&](int threads) {
#ifdef _OPENMP
        const int saved = omp_get_max_threads();
        omp_set_num_threads(threads);
#else
        (void)threads;
#endif
        Parameter<float> p(Tensor<float>(Shape{n}));
        Generator gen(7);
        p.value.fill_normal(gen);
        SGD<float> opt({&p}, SGDOptions(0.1).momentum(0.9).weight_decay(0.01).nesterov(true));
        for (int step = 0; step < 2; ++step) {
            opt.zero_grad();
            p.grad().fill_normal(gen);
            opt.step();
        }
        opt.zero_grad();
        const bool cleared = p.grad().array().abs().maxCoeff() == 0.0f;
#ifdef _OPENMP
        omp_set_num_threads(saved);
#endif
        return std::make_pair(std::vector<float>(p.value.data(), p.value.data() + n), cleared);
    };
    const auto one = run(1), two = run(2);
    CHECK(one.second);
    CHECK(two.second);
    REQUIRE(one.first.size() == two.first.size());
    CHECK(std::equal(one.first.begin(), one.first.end(), two.first.begin()));

    // Against the update rule written out in double, element by element.
    Generator gen(7);
    Tensor<float> w0(Shape{n});
    w0.fill_normal(gen);
    std::vector<double> w(w0.data(), w0.data() + n), buf(static_cast<std::size_t>(n));
    Tensor<float> g(Shape{n});
    for (int step = 0; step < 2; ++step) {
        g.fill_normal(gen);
        for (index_t i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            const double d = g[i] + 0.01 * w[k];
            buf[k] = step == 0 ? d : 0.9 * buf[k] + d;
            w[k] -= 0.1 * (d + 0.9 * buf[k]);
        }
    }
    double worst = 0;
    for (index_t i = 0; i < n; ++i)
        worst = std::max(worst, std::abs(two.first[static_cast<std::size_t>(i)] - w[static_cast<std::size_t>(i)]));
    CHECK(worst < 1e-5);
}
