#include <catch2/catch.hpp>

#include "strata/models/dsn.hpp"
#include "strata/models/resnet.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/nn/aux_head.hpp"
#include "strata/nn/deep_supervision.hpp"

using namespace strata;
using namespace strata::nn;
using models::ResNetOptions;

namespace {
Tensor<double> random_images(index_t n, index_t c, index_t hw, std::uint64_t seed) {
    Tensor<double> x(Shape{n, c, hw, hw});
    Generator g(seed);
    x.fill_normal(g);
    return x;
}
const std::vector<index_t> labels4{0, 3, 9, 5};

std::unique_ptr<models::ResNet<double>> small_net(std::vector<int> aux_after, AuxHeadKind kind = AuxHeadKind::linear) {
    return models::cifar_resnet<double>(
        8, ResNetOptions().in_channels(1).num_classes(10).shortcut(Shortcut::zero_pad).widths({4, 8, 8}).seed(3)
               .aux_after(std::move(aux_after)).aux_head(kind).input_size(12));
}
}  // namespace

TEST_CASE("An AuxHead is a pass-through tap that records its logits only in training", "[nn][aux]") {
    auto net = small_net({1, 2});
    auto x = random_images(4, 1, 12, 1);
    Tape tape;
    auto out = forward_with_aux(*net, tape.constant(x));
    REQUIRE(out.aux.size() == 2);
    CHECK(out.names == std::vector<std::string>{"aux1", "aux2"});
    CHECK(out.aux[0].shape() == Shape{4, 10});
    net->eval();
    tape.rewind();
    auto ev = forward_with_aux(*net, tape.constant(x));
    CHECK(ev.aux.empty());
    // logits from an earlier tape step are never returned
    net->train();
    tape.rewind();
    forward_with_aux(*net, tape.constant(x));
    tape.rewind();
    CHECK_FALSE(net->aux_head(0)->logits().defined());
}

TEST_CASE("In eval mode a model with heads records exactly the nodes of the model without", "[nn][aux]") {
    auto with = small_net({1, 2});
    auto without = small_net({});
    with->eval();
    without->eval();
    auto x = random_images(2, 1, 12, 2);
    Tape t1, t2;
    auto xv1 = t1.variable(x);
    auto xv2 = t2.variable(x);
    auto y1 = (*with)(xv1);
    auto y2 = (*without)(xv2);
    CHECK(t1.node_count() == t2.node_count());
    CHECK(y1.value().array().isApprox(y2.value().array(), 0.0));  // same seed -> same main weights
}

TEST_CASE("An aux-only loss reaches the layers below its head and none above", "[nn][aux]") {
    auto net = small_net({1});
    auto x = random_images(4, 1, 12, 3);
    Tape tape;
    auto out = forward_with_aux(*net, tape.constant(x));
    net->zero_grad();
    cross_entropy(out.aux[0], labels4).backward();
    for (auto& np : net->named_parameters()) {
        const double g = np.parameter->grad.array().abs().sum();
        const bool below = np.name.rfind("conv1", 0) == 0 || np.name.rfind("bn1", 0) == 0 ||
                           np.name.rfind("layer1.", 0) == 0 || np.name.rfind("aux1.", 0) == 0;
        INFO(np.name);
        if (below)
            CHECK(g > 0);
        else
            CHECK(g == 0);
    }
}

TEST_CASE("Stripping heads removes their parameters and keeps eval outputs bit-identical", "[nn][aux]") {
    auto net = small_net({1, 2}, AuxHeadKind::googlenet);
    const index_t with_heads = net->parameter_count();
    net->eval();
    auto x = random_images(3, 1, 12, 4);
    Tape tape;
    Tensor<double> before = (*net)(tape.constant(x)).to_tensor();
    CHECK(strip_aux_heads(*net) == 2);
    CHECK(net->parameter_count() < with_heads);
    for (auto& np : net->named_parameters()) CHECK(np.name.find("aux") == std::string::npos);
    tape.rewind();
    Tensor<double> after = (*net)(tape.constant(x)).to_tensor();
    for (index_t i = 0; i < before.numel(); ++i) CHECK(before[i] == after[i]);
    CHECK(net->parameter_count() == small_net({})->parameter_count());
}

TEST_CASE("GoogLeNet heads pool 5x5/3 on large maps and globally on small ones", "[nn][aux]") {
    auto big = make_aux_classifier<float>(AuxHeadKind::googlenet, 16, 14, 10);  // 14 -> 4x4
    auto small = make_aux_classifier<float>(AuxHeadKind::googlenet, 16, 3, 10);
    Tape tape;
    big->eval();
    small->eval();
    Tensor<float> a(Shape{2, 16, 14, 14}), b(Shape{2, 16, 3, 3});
    CHECK((*big)(tape.constant(a)).shape() == Shape{2, 10});
    CHECK((*small)(tape.constant(b)).shape() == Shape{2, 10});
    CHECK(big->named_parameters()[2].parameter->shape() == Shape{1024, 128 * 4 * 4});
    CHECK_THROWS_WITH(models::resnet18<float>(ResNetOptions().aux_after({5})), Catch::Contains("stage 5"));
}

TEST_CASE("DeepSupervisionLoss weights heads over training and applies the threshold", "[nn][aux][loss]") {
    auto net = small_net({1, 2});
    auto x = random_images(4, 1, 12, 5);
    Tape tape;
    auto out = forward_with_aux(*net, tape.constant(x));
    DeepSupervisionLoss<double> constant(DeepSupervisionOptions().weights({AuxWeight::constant(0.3)}));
    const double total = constant(out, labels4).item();
    const auto& p = constant.parts();
    REQUIRE(p.aux.size() == 2);
    CHECK(total == Approx(p.main + 0.3 * p.aux[0] + 0.3 * p.aux[1]).epsilon(1e-12));
    CHECK(p.main == Approx(cross_entropy(out.main, labels4).item()).epsilon(1e-12));

    DeepSupervisionLoss<double> fading(models::dsn_loss_options(10.0, 0.5));
    fading(out, labels4, 4.0);
    CHECK(fading.parts().weights[0] == Approx(0.5 * 0.6));
    fading(out, labels4, 12.0);
    CHECK(fading.parts().weights[1] == 0.0);
    CHECK(fading.parts().main == Approx(squared_hinge_loss(out.main, labels4).item()).epsilon(1e-12));

    DeepSupervisionLoss<double> thresholded(DeepSupervisionOptions().threshold(1e9));
    const double only_main = thresholded(out, labels4).item();
    CHECK(only_main == Approx(thresholded.parts().main).epsilon(1e-12));
    CHECK(thresholded.parts().weights == std::vector<double>{0.0, 0.0});
    CHECK(AuxWeight::exponential_decay(1.0, 0.5).at(3) == Approx(0.125));
    DeepSupervisionLoss<double> wrong(DeepSupervisionOptions().weights({AuxWeight::constant(1), AuxWeight::constant(1), AuxWeight::constant(1)}));
    CHECK_THROWS_WITH(wrong(out, labels4), Catch::Contains("3 weights for 2 auxiliary heads"));
}

TEST_CASE("The deep-supervision loss's gradient equals the sum of its parts' gradients", "[nn][aux][gradcheck]") {
    auto net = small_net({1, 2});
    auto x = random_images(2, 1, 12, 6);
    const std::vector<index_t> labels{1, 7};
    std::vector<Parameter<double>*> params{&net->stem_conv().weight(), &net->fc().weight()};
    auto f = [&](Tape& tape) {
        DeepSupervisionLoss<double> loss(DeepSupervisionOptions().weights({AuxWeight::constant(0.5)}));
        return loss(forward_with_aux(*net, tape.constant(x)), labels);
    };
    CHECK(gradcheck_parameters(f, params).passed);
}

TEST_CASE("dsn builds companions after every hidden stage", "[models][dsn]") {
    auto net = models::dsn<float>();
    Tape tape;
    Tensor<float> x(Shape{2, 1, 28, 28});
    auto out = forward_with_aux(*net, tape.constant(x));
    CHECK(out.main.shape() == Shape{2, 10});
    CHECK(out.aux.size() == 2);
    net->eval();
    tape.rewind();
    CHECK(forward_with_aux(*net, tape.constant(x)).aux.empty());
}
