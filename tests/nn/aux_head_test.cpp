#include <catch2/catch.hpp>

#include "strata/models/dsn.hpp"
#include "strata/models/resnet.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/nn/aux_head.hpp"
#include "strata/nn/deep_supervision.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/scale.hpp"

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
    // outputs of an earlier tape step are dead after a rewind; a new call gets fresh ones
    net->train();
    tape.rewind();
    auto first = forward_with_aux(*net, tape.constant(x));
    tape.rewind();
    CHECK_FALSE(first.aux[0].is_alive());
    auto second = forward_with_aux(*net, tape.constant(x));
    REQUIRE(second.aux.size() == 2);
    CHECK(second.aux[0].is_alive());
}

TEST_CASE("Two calls of one model on one tape give two independent sets of aux logits", "[nn][aux]") {
    auto net = small_net({1, 2});
    const auto x1 = random_images(4, 1, 12, 11), x2 = random_images(4, 1, 12, 12);
    const std::vector<index_t> labels2{2, 4, 6, 8};
    Tensor<double>& stem_grad = net->stem_conv().weight().grad();
    auto aux_loss = [](const Outputs<double>& o, const std::vector<index_t>& labels) {
        return add(cross_entropy(o.aux[0], labels), cross_entropy(o.aux[1], labels));
    };
    // Each crop alone: its aux logits and the stem's gradient of its aux losses.
    auto alone = [&](const Tensor<double>& x, const std::vector<index_t>& labels) {
        Tape tape;
        net->zero_grad();
        auto out = forward_with_aux(*net, tape.constant(x));
        REQUIRE(out.aux.size() == 2);
        aux_loss(out, labels).backward();
        return std::make_tuple(out.aux[0].to_tensor(), out.aux[1].to_tensor(), Tensor<double>::from(stem_grad.view()));
    };
    const auto [a1, b1, grad1] = alone(x1, labels4);
    const auto [a2, b2, grad2] = alone(x2, labels2);
    // Both crops on one tape: the first call's outputs survive the second call.
    Tape tape;
    net->zero_grad();
    auto first = forward_with_aux(*net, tape.constant(x1));
    auto second = forward_with_aux(*net, tape.constant(x2));
    REQUIRE(first.aux.size() == 2);
    REQUIRE(second.aux.size() == 2);
    CHECK(first.names == second.names);
    CHECK(first.aux[0].value().array().isApprox(a1.array(), 0.0));
    CHECK(first.aux[1].value().array().isApprox(b1.array(), 0.0));
    CHECK(second.aux[0].value().array().isApprox(a2.array(), 0.0));
    CHECK(second.aux[1].value().array().isApprox(b2.array(), 0.0));
    CHECK_FALSE(first.aux[0].value().array().isApprox(second.aux[0].value().array(), 1e-3));
    // The first call's aux losses alone: exactly crop 1's gradient, and none reaches the FC above the heads.
    aux_loss(first, labels4).backward();
    CHECK(stem_grad.array().isApprox(grad1.array(), 1e-12));
    CHECK(net->fc().weight().grad().array().abs().sum() == 0.0);
    // Both calls' aux losses: the sum of the two crops' gradients.
    tape.rewind();
    net->zero_grad();
    first = forward_with_aux(*net, tape.constant(x1));
    second = forward_with_aux(*net, tape.constant(x2));
    add(aux_loss(first, labels4), aux_loss(second, labels2)).backward();
    CHECK(stem_grad.array().isApprox(grad1.array() + grad2.array(), 1e-12));
}

TEST_CASE("A model calling a part twice collects both calls' heads; nested calls keep their own", "[nn][aux]") {
    struct Siamese : Module<double> {
        explicit Siamese(std::unique_ptr<models::ResNet<double>> n) { net = &register_module("net", std::move(n)); }
        Var<double> forward(const Var<double>& x) override {
            Var<double> left = (*net)(x);  // sequenced: the first call's heads come first
            return add(left, (*net)(scale(x, 2.0)));
        }
        std::string type_name() const override { return "Siamese"; }
        models::ResNet<double>* net;
    };
    Siamese pair(small_net({1, 2}));
    const auto x = random_images(2, 1, 12, 13);
    Tape tape;
    auto out = forward_with_aux(pair, tape.constant(x));
    CHECK(out.names == std::vector<std::string>{"net.aux1", "net.aux2", "net.aux1", "net.aux2"});
    auto one = forward_with_aux(*pair.net, tape.constant(x));
    CHECK(out.aux[0].value().array().isApprox(one.aux[0].value().array(), 0.0));
    CHECK_FALSE(out.aux[2].value().array().isApprox(one.aux[0].value().array(), 1e-6));

    // A forward that itself calls forward_with_aux on its part: the inner call takes its heads; the outer sees none.
    struct Teacher : Module<double> {
        explicit Teacher(std::unique_ptr<models::ResNet<double>> n) { net = &register_module("net", std::move(n)); }
        Var<double> forward(const Var<double>& x) override {
            inner = forward_with_aux(*net, x);
            return inner.main;
        }
        std::string type_name() const override { return "Teacher"; }
        models::ResNet<double>* net;
        Outputs<double> inner;
    };
    Teacher teacher(small_net({2}));
    auto outer = forward_with_aux(teacher, tape.constant(x));
    CHECK(outer.aux.empty());
    CHECK(teacher.inner.names == std::vector<std::string>{"net.aux2"});
}

TEST_CASE("Heads record nothing in eval mode nor outside forward_with_aux", "[nn][aux]") {
    auto with = small_net({1, 2}, AuxHeadKind::googlenet);
    auto without = small_net({});
    const auto x = random_images(2, 1, 12, 14);
    auto footprint = [&](Module<double>& m, bool collect) {
        Tape tape;
        if (collect)
            CHECK(forward_with_aux(m, tape.constant(x)).aux.empty());
        else
            m(tape.constant(x));
        return std::make_pair(tape.node_count(), tape.arena().bytes_in_use());
    };
    with->eval();
    without->eval();
    CHECK(footprint(*with, true) == footprint(*without, false));
    // Training mode, a plain call: the heads' logits would go nowhere, so they are not computed.
    with->train();
    without->train();
    CHECK(footprint(*with, false) == footprint(*without, false));
    // ... and inside forward_with_aux they are.
    Tape tape;
    CHECK(forward_with_aux(*with, tape.constant(x)).aux.size() == 2);
    CHECK(tape.node_count() > footprint(*without, false).first);
}

TEST_CASE("An AuxHead in a Sequential taps the features passing through it", "[nn][aux]") {
    Sequential<float> seq;
    seq.push_back("conv", make<Conv2d<float>>(Conv2dOptions(1, 3, 3).padding(1)));
    seq.push_back("aux", make<AuxHead<float>>(AuxHeadOptions(3, 5)));
    seq.push_back("pool", make<GlobalAvgPool2d<float>>());
    Tensor<float> x(Shape{2, 1, 6, 6});
    Generator gen(5);
    x.fill_normal(gen);
    Tape tape;
    auto out = forward_with_aux(seq, tape.constant(x));
    REQUIRE(out.aux.size() == 1);
    CHECK(out.names[0] == "aux");
    CHECK(out.aux[0].shape() == Shape{2, 5});
    CHECK(out.main.shape() == Shape{2, 3, 1, 1});
    // The head is linear: its logits are fc(mean over the map of conv(x)).
    auto& head = dynamic_cast<Sequential<float>&>(*seq.child("aux")->child("head"));
    auto expected = head(seq[0](tape.constant(x)));
    CHECK(out.aux[0].value().array().isApprox(expected.value().array(), 1e-6f));
}

TEST_CASE("Aux-head options ask each kind only for what it needs and name bad values", "[nn][aux]") {
    auto linear = make_aux_head<float>(AuxHeadOptions(16, 10));
    CHECK(linear->named_parameters().back().parameter->shape() == Shape{10});
    CHECK(linear->named_parameters().front().name == "head.fc.weight");
    CHECK_THROWS_AS(make_aux_head<float>(AuxHeadOptions(16, 10).kind(AuxHeadKind::googlenet)), ArgumentError);
    CHECK_THROWS_WITH(make_aux_head<float>(AuxHeadOptions(16, 10).kind(AuxHeadKind::googlenet)),
                      Catch::Contains("googlenet") && Catch::Contains("in_size(n)") &&
                          Catch::Contains("got in_size 0"));
    CHECK_THROWS_WITH(make_aux_head<float>(AuxHeadOptions(0, 10)), Catch::Contains("got 0 and 10"));
    CHECK_THROWS_WITH(make_aux_head<float>(AuxHeadOptions(4, -1).kind(AuxHeadKind::googlenet).in_size(3)),
                      Catch::Contains("got 4 and -1"));
    CHECK_THROWS_AS(AuxHead<float>(std::unique_ptr<Module<float>>()), ArgumentError);
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
        const double g = np.parameter->grad().array().abs().sum();
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
    auto big = make_aux_classifier<float>(AuxHeadOptions(16, 10).kind(AuxHeadKind::googlenet).in_size(14));  // 4x4
    auto small = make_aux_classifier<float>(AuxHeadOptions(16, 10).kind(AuxHeadKind::googlenet).in_size(3));
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
