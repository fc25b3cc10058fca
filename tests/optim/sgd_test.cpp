#include <catch2/catch.hpp>

#include "optim/optim_test_util.hpp"
#include "strata/optim/sgd.hpp"

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
    p.grad = Tensor<double>(Shape{2}, {0.2, 0.4});
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
    p.grad.fill(1.0f);
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
