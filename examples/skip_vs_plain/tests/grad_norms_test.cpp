#include <catch2/catch.hpp>

#include <cmath>

#include "grad_norms.hpp"
#include "settings.hpp"

using namespace strata;
using namespace strata::experiment;

TEST_CASE("main_path_convs lists the main path's convs in depth order, without heads or projections",
          "[experiment][grad_norms]") {
    auto cifar = build_network<float>(parse_setting("plain8-aux-bn"), 1, 10, 28, 0);
    const auto convs = main_path_convs(*cifar);
    std::vector<std::string> names;
    for (const auto& c : convs) names.push_back(c.name);
    CHECK(names == std::vector<std::string>{"conv1", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.conv1",
                                            "layer2.0.conv2", "layer3.0.conv1", "layer3.0.conv2"});
    auto imagenet = build_network<float>(parse_setting("resnet18i-aux-bn"), 1, 10, 28, 0);
    const auto main = main_path_convs(*imagenet);
    CHECK(main.size() == 17);  // stem + 8 blocks x 2
    for (const auto& c : main) CHECK(c.name.find("downsample") == std::string::npos);
    CHECK(main_path_convs(*imagenet, true).size() == 20);  // + 3 projection shortcuts
}

TEST_CASE("conv_grad_norms gives each conv's weight-gradient L2 norm", "[experiment][grad_norms]") {
    auto net = build_network<float>(parse_setting("resnet8-bn"), 1, 10, 28, 0);
    auto convs = main_path_convs(*net);
    for (std::size_t i = 0; i < convs.size(); ++i) convs[i].conv->weight().grad().array() = 0.0f;
    convs[0].conv->weight().grad().array()(0) = 3.0f;
    convs[0].conv->weight().grad().array()(1) = 4.0f;
    convs[2].conv->weight().grad().array() = 1.0f;
    const auto norms = conv_grad_norms(*net);
    REQUIRE(norms.size() == convs.size());
    CHECK(norms[0].index == 0);
    CHECK(norms[0].name == "conv1");
    CHECK(norms[0].norm == Approx(5.0));
    CHECK(norms[1].norm == 0.0);
    CHECK(norms[2].index == 2);
    CHECK(norms[2].norm == Approx(std::sqrt(static_cast<double>(convs[2].conv->weight().grad().numel()))));
}
