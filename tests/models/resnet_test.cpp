#include <catch2/catch.hpp>

#include "strata/models/resnet.hpp"

using namespace strata;
using namespace strata::models;

namespace {
Shape output_shape(nn::Module<float>& net, const Shape& input) {
    net.eval();
    Tape tape;
    NoGradGuard no_grad(tape);
    Tensor<float> x(input);
    return net(tape.constant(x)).shape();
}
}  // namespace

TEST_CASE("ImageNet-style factories give [N, classes] on 28x28 and 32x32 inputs", "[models][resnet]") {
    for (auto make : {resnet18<float>, resnet34<float>, plain18<float>, plain34<float>}) {
        auto gray = make(ResNetOptions().in_channels(1).num_classes(10));
        CHECK(output_shape(*gray, Shape{2, 1, 28, 28}) == Shape{2, 10});
        auto rgb = make(ResNetOptions().num_classes(7));
        CHECK(output_shape(*rgb, Shape{1, 3, 32, 32}) == Shape{1, 7});
    }
    auto r50 = resnet50<float>(ResNetOptions().num_classes(10));
    CHECK(output_shape(*r50, Shape{2, 3, 32, 32}) == Shape{2, 10});
    CHECK_THROWS_WITH(output_shape(*r50, Shape{1, 1, 28, 28}), Catch::Contains("conv1") && Catch::Contains("[1, 1, 28, 28]"));
    auto cifar_stem = resnet18<float>(ResNetOptions().stem(Stem::cifar).num_classes(10));
    CHECK(output_shape(*cifar_stem, Shape{1, 3, 32, 32}) == Shape{1, 10});
}

TEST_CASE("CIFAR-style 6n+2 nets have the paper's depth and output shapes", "[models][resnet]") {
    for (int depth : {20, 32, 44, 56, 110}) {
        auto net = cifar_resnet<float>(depth);
        CHECK(static_cast<int>(net->blocks().size()) == (depth - 2) / 2);
        // depth = stem conv + 2 convs per block + fc
        index_t convs = 0;
        for (auto& [name, m] : net->named_modules())
            if (m->type_name() == "Conv2d") ++convs;
        CHECK(convs + 1 == depth);  // option A has no projection convs
        CHECK(output_shape(*net, Shape{2, 3, 32, 32}) == Shape{2, 10});
    }
    auto plain = cifar_plain<float>(20, ResNetOptions().in_channels(1).num_classes(10));
    CHECK(output_shape(*plain, Shape{3, 1, 28, 28}) == Shape{3, 10});
    CHECK_THROWS_WITH(cifar_resnet<float>(21), Catch::Contains("6n+2") && Catch::Contains("21"));
}

TEST_CASE("Plain twins differ from residual nets only by their shortcuts", "[models][resnet]") {
    auto res = resnet18<float>(ResNetOptions().shortcut(Shortcut::zero_pad));
    auto plain = plain18<float>();
    CHECK(res->parameter_count() == plain->parameter_count());
    auto proj = resnet18<float>();
    auto always = resnet18<float>(ResNetOptions().shortcut(Shortcut::always_projection));
    CHECK(proj->parameter_count() > res->parameter_count());
    CHECK(always->parameter_count() > proj->parameter_count());
    CHECK(proj->blocks()[2]->downsample() != nullptr);  // layer2.0 changes shape
    CHECK(proj->blocks()[1]->downsample() == nullptr);
    CHECK(always->blocks()[1]->downsample() != nullptr);
}

TEST_CASE("Without normalisation convs carry biases and no BN exists", "[models][resnet]") {
    auto net = cifar_resnet<float>(20, ResNetOptions().num_classes(10).shortcut(Shortcut::zero_pad).norm(Norm::none));
    for (auto& [name, m] : net->named_modules()) CHECK(m->type_name() != "BatchNorm2d");
    bool saw_bias = false;
    for (auto& np : net->named_parameters())
        if (np.name == "layer1.0.conv1.bias") saw_bias = true;
    CHECK(saw_bias);
}

TEST_CASE("zero_init_residual zeroes each branch's last BN gamma (or last conv)", "[models][resnet]") {
    auto net = resnet18<float>(ResNetOptions().zero_init_residual(true));
    for (auto& np : net->named_parameters()) {
        if (np.name.find(".bn2.weight") != std::string::npos) CHECK(np.parameter->value.array().abs().sum() == 0);
        if (np.name.find(".bn1.weight") != std::string::npos) CHECK(np.parameter->value.array().abs().sum() > 0);
    }
    auto nonorm = cifar_resnet<float>(20, ResNetOptions().num_classes(10).shortcut(Shortcut::zero_pad).norm(Norm::none).zero_init_residual(true));
    for (auto& np : nonorm->named_parameters())
        if (np.name.find(".conv2.weight") != std::string::npos) CHECK(np.parameter->value.array().abs().sum() == 0);
}

TEST_CASE("Kaiming fan-out initialisation and seeding", "[models][resnet]") {
    auto a = resnet18<float>(ResNetOptions().seed(5));
    auto b = resnet18<float>(ResNetOptions().seed(5));
    auto c = resnet18<float>(ResNetOptions().seed(6));
    auto& wa = a->stem_conv().weight().value;
    CHECK(wa.array().isApprox(b->stem_conv().weight().value.array()));
    CHECK_FALSE(wa.array().isApprox(c->stem_conv().weight().value.array()));
    // fan_out = 64 * 7 * 7: std = sqrt(2 / 3136)
    const double mean = wa.array().mean();
    const double sd = std::sqrt((wa.array() - static_cast<float>(mean)).square().mean());
    CHECK(sd == Approx(std::sqrt(2.0 / 3136)).epsilon(0.05));
}
