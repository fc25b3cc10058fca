// Tests of optim/any_optimizer.hpp: make_optimizer builds the optimizer a name picks, with the spec's
// hyper-parameters and the weight-decay groups, and the run-time interface steps it exactly as the concrete
// optimizer would.

#include <catch2/catch.hpp>

#include "strata/optim/any_optimizer.hpp"

using namespace strata;
using Catch::Contains;

namespace {

/// A weight [2, 3] (decayed) and a bias [3] (not decayed) with fixed values and gradients.
struct TwoParams {
    Parameter<double> weight{Tensor<double>(Shape{2, 3}, {0.5, -1.0, 2.0, 0.25, -0.75, 1.5})};
    Parameter<double> bias{Tensor<double>(Shape{3}, {0.1, -0.2, 0.3})};
    TwoParams() {
        weight.grad() = Tensor<double>(Shape{2, 3}, {0.3, 0.1, -0.2, 0.4, -0.5, 0.6});
        bias.grad() = Tensor<double>(Shape{3}, {-0.1, 0.2, 0.05});
    }
    optim::WeightDecaySplit<double> split() { return {{&weight}, {&bias}}; }
};

}  // namespace

TEST_CASE("make_optimizer builds each named optimizer with the spec's options", "[optim][any_optimizer]") {
    for (const std::string& name : optim::optimizer_names()) {
        CAPTURE(name);
        TwoParams p;
        auto opt = optim::make_optimizer<double>(optim::OptimizerSpec(name).lr(0.02).momentum(0.8), p.split());
        CHECK(opt->control().group_count() == 2);
        CHECK(opt->control().lr(0) == 0.02);
        CHECK(opt->control().lr(1) == 0.02);
        CHECK(opt->control().momentum(0) == 0.8);
        CHECK(opt->parameters() == std::vector<Parameter<double>*>{&p.weight, &p.bias});
    }
    TwoParams p;
    CHECK_THROWS_WITH(optim::make_optimizer<double>(optim::OptimizerSpec("lion"), p.split()),
                      Contains("unknown optimizer 'lion'") && Contains("sgd, adam, adamw, rmsprop"));
    CHECK_THROWS_WITH(optim::make_optimizer<double>(optim::OptimizerSpec("sgd"), optim::WeightDecaySplit<double>{}),
                      Contains("no parameters"));
    CHECK_THROWS_AS(optim::make_optimizer<double>(optim::OptimizerSpec("sgd").lr(-1), p.split()), ArgumentError);
}

TEST_CASE("make_optimizer decays group 0 only, and steps as the concrete optimizer", "[optim][any_optimizer]") {
    const auto [name, nesterov] = GENERATE(std::make_pair(std::string("sgd"), true), std::make_pair(std::string("adam"), false),
                                           std::make_pair(std::string("adamw"), false),
                                           std::make_pair(std::string("rmsprop"), false));
    CAPTURE(name);
    const optim::OptimizerSpec spec = optim::OptimizerSpec(name).lr(0.1).momentum(0.9).weight_decay(0.01).nesterov(nesterov);
    TwoParams a, b;
    auto any = optim::make_optimizer<double>(spec, a.split());
    // The same optimizer built by hand.
    std::unique_ptr<optim::AnyOptimizer<double>> by_hand;
    if (name == "sgd") {
        auto h = std::make_unique<optim::OptimizerHolder<optim::SGD<double>>>(optim::SGDOptions(0.1));
        h->get().add_param_group({&b.weight}, optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(0.01));
        h->get().add_param_group({&b.bias}, optim::SGDOptions(0.1).momentum(0.9).nesterov(true));
        by_hand = std::move(h);
    } else if (name == "adam") {
        auto h = std::make_unique<optim::OptimizerHolder<optim::Adam<double>>>(optim::AdamOptions(0.1));
        h->get().add_param_group({&b.weight}, optim::AdamOptions(0.1).betas(optim::AdamBetas(0.9, 0.999)).weight_decay(0.01));
        h->get().add_param_group({&b.bias}, optim::AdamOptions(0.1).betas(optim::AdamBetas(0.9, 0.999)));
        by_hand = std::move(h);
    } else if (name == "adamw") {
        auto h = std::make_unique<optim::OptimizerHolder<optim::AdamW<double>>>(optim::AdamWOptions(0.1));
        h->get().add_param_group({&b.weight}, optim::AdamWOptions(0.1).betas(optim::AdamBetas(0.9, 0.999)).weight_decay(0.01));
        h->get().add_param_group({&b.bias}, optim::AdamWOptions(0.1).betas(optim::AdamBetas(0.9, 0.999)).weight_decay(0.0));
        by_hand = std::move(h);
    } else {
        auto h = std::make_unique<optim::OptimizerHolder<optim::RMSprop<double>>>(optim::RMSpropOptions(0.1));
        h->get().add_param_group({&b.weight}, optim::RMSpropOptions(0.1).momentum(0.9).weight_decay(0.01));
        h->get().add_param_group({&b.bias}, optim::RMSpropOptions(0.1).momentum(0.9));
        by_hand = std::move(h);
    }
    for (int step = 0; step < 3; ++step) {
        any->step();
        by_hand->step();
    }
    for (index_t i = 0; i < 6; ++i) CHECK(a.weight.value.data()[i] == b.weight.value.data()[i]);
    for (index_t i = 0; i < 3; ++i) CHECK(a.bias.value.data()[i] == b.bias.value.data()[i]);
    // Weight decay acts on group 0 only: without it the weight would move differently, the bias the same.
    TwoParams c;
    auto no_decay = optim::make_optimizer<double>(optim::OptimizerSpec(spec).weight_decay(0.0), c.split());
    for (int step = 0; step < 3; ++step) no_decay->step();
    CHECK(c.weight.value.data()[0] != a.weight.value.data()[0]);
    for (index_t i = 0; i < 3; ++i) CHECK(c.bias.value.data()[i] == a.bias.value.data()[i]);
    // The state a checkpoint saves is the concrete optimizer's.
    const auto names = [](optim::AnyOptimizer<double>& o) {
        std::vector<std::string> out;
        for (auto& [n, t] : o.state_tensors()) out.push_back(n);
        return out;
    };
    CHECK(names(*any) == names(*by_hand));
    CHECK_FALSE(names(*any).empty());
    any->zero_grad();
    CHECK(a.weight.grad().data()[0] == 0.0);
}

TEST_CASE("make_optimizer over one parameter list makes one group with the weight decay", "[optim][any_optimizer]") {
    TwoParams p;
    auto opt = optim::make_optimizer<double>(optim::OptimizerSpec("sgd").lr(0.5).weight_decay(0.1),
                                             std::vector<Parameter<double>*>{&p.weight, &p.bias});
    CHECK(opt->control().group_count() == 1);
    opt->step();
    // Plain SGD with L2 decay: w - lr * (g + wd * w).
    CHECK(p.weight.value.data()[0] == Approx(0.5 - 0.5 * (0.3 + 0.1 * 0.5)));
    CHECK(p.bias.value.data()[0] == Approx(0.1 - 0.5 * (-0.1 + 0.1 * 0.1)));
}
