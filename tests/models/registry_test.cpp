#include <catch2/catch.hpp>

#include "strata/models/registry.hpp"

using namespace strata;
using namespace strata::models;

namespace {
index_t aux_heads(nn::Module<float>& m) {
    index_t n = 0;
    for (auto& [path, mod] : m.named_modules()) n += mod->type_name() == "AuxHead";
    return n;
}
index_t count(nn::Module<float>& m, const std::string& type) {
    index_t n = 0;
    for (auto& [path, mod] : m.named_modules()) n += mod->type_name() == type;
    return n;
}
}  // namespace

TEST_CASE("make_model builds every listed name, with and without heads", "[models][registry]") {
    for (std::string name : {"resnet18", "plain18", "resnet20", "plain56", "dsn"}) {
        auto m = make_model<float>(name);
        INFO(name);
        CHECK(m->parameter_count() > 0);
        CHECK(aux_heads(*m) == (name == "dsn" ? 2 : 0));
    }
    CHECK(aux_heads(*make_model<float>("resnet18-aux")) == 3);
    CHECK(aux_heads(*make_model<float>("plain20-aux")) == 2);
    // plain nets have no projections; ImageNet-style residual nets project, CIFAR-style ones pad (option A)
    CHECK(count(*make_model<float>("plain18"), "Sequential") == count(*make_model<float>("resnet18"), "Sequential") - 3);
    CHECK(make_model<float>("resnet20")->parameter_count() == make_model<float>("plain20")->parameter_count());
    CHECK(make_model<float>("resnet18")->parameter_count() == 11175370);  // peer workload: 1 channel, 10 classes
}

TEST_CASE("make_model names the valid models for an unknown name", "[models][registry]") {
    for (std::string bad : {"resnet19", "vgg16", "plain50", "dsn-aux", "resnet", "resnetx"}) {
        INFO(bad);
        CHECK_THROWS_WITH(make_model<float>(bad), Catch::Contains("unknown model '" + bad + "'") &&
                                                      Catch::Contains("resnet18") && Catch::Contains("dsn"));
    }
}

TEST_CASE("make_model passes the spec through", "[models][registry]") {
    auto m = make_model<float>("resnet20", ModelSpec().in_channels(3).num_classes(7).norm(Norm::none).seed(4));
    Tape tape;
    Tensor<float> x(Shape{2, 3, 32, 32});
    CHECK((*m)(tape.constant(x)).shape() == Shape{2, 7});
    CHECK(count(*m, "BatchNorm2d") == 0);
}
