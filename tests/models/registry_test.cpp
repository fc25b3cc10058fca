#include <catch2/catch.hpp>

#include <string>
#include <vector>

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

TEST_CASE("make_model zero-initialises the residual branches when the spec asks", "[models][registry]") {
    // the largest |gamma| of each block's last batch norm (bn2 of a basic block, bn3 of a bottleneck)
    auto last_gammas = [](nn::Module<float>& m, const std::string& last) {
        std::vector<float> out;
        for (auto& np : m.named_parameters()) {
            const std::string& n = np.name;
            const std::string suffix = "." + last + ".weight";
            if (n.rfind("layer", 0) == 0 && n.size() > suffix.size() &&
                n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
                out.push_back(np.parameter->value.array().abs().maxCoeff());
        }
        return out;
    };
    for (std::string name : {"resnet20", "resnet50", "resnet18-aux"}) {
        INFO(name);
        const std::string last = name == "resnet50" ? "bn3" : "bn2";
        auto off = make_model<float>(name);
        auto on = make_model<float>(name, ModelSpec().zero_init_residual(true));
        const auto g_off = last_gammas(*off, last), g_on = last_gammas(*on, last);
        REQUIRE(g_on.size() == (name == "resnet20" ? 9u : name == "resnet50" ? 16u : 8u));
        REQUIRE(g_off.size() == g_on.size());
        for (std::size_t i = 0; i < g_on.size(); ++i) {
            CHECK(g_off[i] == 1.0f);
            CHECK(g_on[i] == 0.0f);
        }
    }
    // plain nets have no residual branch to zero: the flag changes nothing
    auto plain_on = make_model<float>("plain20", ModelSpec().zero_init_residual(true));
    for (float g : last_gammas(*plain_on, "bn2")) CHECK(g == 1.0f);
}
