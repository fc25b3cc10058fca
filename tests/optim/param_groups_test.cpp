#include <catch2/catch.hpp>

#include "strata/nn/activation.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"
#include "strata/optim/param_groups.hpp"
#include "strata/optim/sgd.hpp"

using namespace strata;
using namespace strata::nn;
using namespace strata::optim;

namespace {
/// conv (no bias) -> bn -> relu -> flatten -> linear: 2 weights to decay, bn gamma/beta and the fc bias not.
std::unique_ptr<Sequential<float>> grouped_net() {
    auto net = make<Sequential<float>>();
    net->push_back(make<Conv2d<float>>(Conv2dOptions(1, 4, 3).padding(1).bias(false)));
    net->push_back(make<BatchNorm2d<float>>(BatchNormOptions(4)));
    net->push_back(make<ReLU<float>>());
    net->push_back(make<Flatten<float>>());
    net->push_back(make<Linear<float>>(LinearOptions(4 * 5 * 5, 3)));
    return net;
}
}  // namespace

TEST_CASE("split_weight_decay separates weights from batch-norm parameters and biases", "[optim][param_groups]") {
    auto net = grouped_net();
    auto named = net->named_parameters();
    auto find = [&](const std::string& name) {
        for (auto& np : named)
            if (np.name == name) return np.parameter;
        FAIL("no parameter " << name);
        return static_cast<Parameter<float>*>(nullptr);
    };
    auto split = split_weight_decay(named);
    CHECK(split.decay == std::vector<Parameter<float>*>{find("0.weight"), find("4.weight")});
    CHECK(split.no_decay == std::vector<Parameter<float>*>{find("1.weight"), find("1.bias"), find("4.bias")});

    auto extra = split_weight_decay(named, {"4."});
    CHECK(extra.decay == std::vector<Parameter<float>*>{find("0.weight")});
    CHECK(extra.no_decay.size() == 4);
}

TEST_CASE("split_weight_decay feeds two SGD groups: only weights decay", "[optim][param_groups]") {
    auto net = grouped_net();
    auto split = split_weight_decay(net->named_parameters());
    SGD<float> opt(SGDOptions(0.1));
    opt.add_param_group(split.decay, SGDOptions(0.1).weight_decay(0.5));
    opt.add_param_group(split.no_decay, SGDOptions(0.1));
    net->zero_grad();
    Parameter<float>& gamma = *split.no_decay[0];
    Parameter<float>& weight = *split.decay[1];
    const float gamma_before = gamma.value[0], weight_before = weight.value[0];
    opt.step();  // zero gradients: only weight decay moves anything
    CHECK(gamma.value[0] == gamma_before);
    CHECK(weight.value[0] == Approx(weight_before * (1 - 0.1f * 0.5f)));
}

TEST_CASE("split_weight_decay rejects a null parameter", "[optim][param_groups]") {
    std::vector<NamedParameter<double>> named{{"fc.weight", nullptr}};
    CHECK_THROWS_AS(split_weight_decay(named), ArgumentError);
    CHECK_THROWS_WITH(split_weight_decay(named), Catch::Contains("parameter 'fc.weight' is null"));
}
