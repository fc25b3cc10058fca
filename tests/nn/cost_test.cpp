#include <catch2/catch.hpp>

#include <memory>

#include "strata/models/resnet.hpp"
#include "strata/nn/activation.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/nn/cost.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"
#include "support/fixture.hpp"

using namespace strata;
using strata::test::Fixture;

namespace {

// conv 1->4 (3x3, pad 1) on 6x6, ReLU, conv 4->8 (3x3, stride 2, pad 1) -> 3x3, flatten, linear 72->10.
std::unique_ptr<nn::Sequential<float>> small_net() {
    auto net = nn::make<nn::Sequential<float>>();
    net->push_back(nn::make<nn::Conv2d<float>>(nn::Conv2dOptions(1, 4, 3).padding(1)));
    net->push_back(nn::make<nn::ReLU<float>>());
    net->push_back(nn::make<nn::Conv2d<float>>(nn::Conv2dOptions(4, 8, 3).stride(2).padding(1).bias(false)));
    net->push_back(nn::make<nn::Flatten<float>>());
    net->push_back(nn::make<nn::Linear<float>>(nn::LinearOptions(72, 10)));
    return net;
}

}  // namespace

TEST_CASE("multiply_adds counts convolutions and linear layers per forward", "[nn][cost]") {
    auto net_ptr = small_net();
    nn::Sequential<float>& net = *net_ptr;
    // 4*6*6 outputs x 1*3*3 + 8*3*3 outputs x 4*3*3 + 10 outputs x 72 (biases, ReLU, flatten not counted)
    const index_t per_image = 4 * 36 * 9 + 8 * 9 * 36 + 10 * 72;
    CHECK(nn::multiply_adds(net, Shape{1, 1, 6, 6}) == per_image);
    CHECK(nn::multiply_adds(net, Shape{3, 1, 6, 6}) == 3 * per_image);  // the whole batch
    net.train();
    nn::multiply_adds(net, Shape{1, 1, 6, 6});
    CHECK(net.is_training());  // the mode is restored
    CHECK_THROWS_AS(nn::multiply_adds(net, Shape{1, 2, 6, 6}), ShapeError);
}

TEST_CASE("multiply_adds of ResNet-18 and ResNet-50 at 224x224 equal torchvision's", "[nn][cost]") {
    const Fixture fx("model_costs.txt");
    auto r18 = models::resnet18<float>();
    CHECK(static_cast<double>(nn::multiply_adds(*r18, Shape{1, 3, 224, 224})) == fx.scalar("resnet18_224"));
    auto r50 = models::resnet50<float>();
    CHECK(static_cast<double>(nn::multiply_adds(*r50, Shape{1, 3, 224, 224})) == fx.scalar("resnet50_224"));
}
