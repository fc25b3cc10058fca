#include <catch2/catch.hpp>

#include "settings.hpp"

using namespace strata;
using namespace strata::experiment;

TEST_CASE("parse_depth accepts CIFAR-style 6n+2 and ImageNet-style 18i/34i", "[experiment][settings]") {
    CHECK(parse_depth("20").layers == 20);
    CHECK_FALSE(parse_depth("56").imagenet);
    CHECK(parse_depth("18i").imagenet);
    CHECK(parse_depth("34i").str() == "34i");
    CHECK(parse_depth("dsn").dsn);
    CHECK(parse_depth("dsn").layers == 7);
    CHECK(parse_depth("dsn").str() == "dsn");
    for (const char* bad : {"18", "21", "2", "", "i", "50i", "-20", "20x", "dsn7"})
        CHECK_THROWS_WITH(parse_depth(bad), Catch::Contains("depth '" + std::string(bad) + "'") && Catch::Contains("6n+2"));
}

TEST_CASE("Setting names round-trip through parse_setting", "[experiment][settings]") {
    const Setting s = parse_setting("resnet56-aux-none@20");
    CHECK(s.residual);
    CHECK(s.heads);
    CHECK(s.norm == nn::Norm::none);
    CHECK(s.depth.layers == 56);
    CHECK(s.steps == 20);
    CHECK(s.name() == "resnet56-aux-none");
    CHECK(s.spec() == "resnet56-aux-none@20");
    CHECK(s.family() == "residual+aux");
    const Setting p = parse_setting("plain18i-bn");
    CHECK_FALSE(p.residual);
    CHECK_FALSE(p.heads);
    CHECK(p.depth.imagenet);
    CHECK(p.norm == nn::Norm::batch);
    CHECK(p.steps == -1);
    CHECK(p.spec() == "plain18i-bn");
    CHECK(parse_setting("plain20-bn@0").steps == 0);
    for (const char* bad : {"plain20", "resnet56-aux", "skip20-bn", "plain20-ln", "plain20-aux-"})
        CHECK_THROWS_WITH(parse_setting(bad), Catch::Contains(std::string("'") + bad + "' is not a setting"));
    CHECK_THROWS_WITH(parse_setting("plain20-bn@x"), Catch::Contains("step budget after '@' must be a count"));
    CHECK_THROWS_WITH(parse_setting("plain21-bn"), Catch::Contains("setting 'plain21-bn': depth '21'"));
    CHECK_THROWS_WITH(parse_setting("plain-bn"), Catch::Contains("setting 'plain-bn': depth ''"));
}

TEST_CASE("setting_matrix is the cross product of the axes", "[experiment][settings]") {
    const auto m = setting_matrix({"20", "56"}, {"plain", "residual"}, {"none", "aux"}, {"bn", "none"});
    REQUIRE(m.size() == 16);
    CHECK(m.front().name() == "plain20-bn");
    CHECK(m[1].name() == "plain20-aux-bn");
    CHECK(m[2].name() == "resnet20-bn");
    CHECK(m[4].name() == "plain20-none");
    CHECK(m.back().name() == "resnet56-aux-none");
    CHECK(setting_matrix({"18i"}, {"residual"}, {"aux"}, {"none"}).at(0).name() == "resnet18i-aux-none");
    CHECK_THROWS_WITH(setting_matrix({"20"}, {"skip"}, {"none"}, {"bn"}), Catch::Contains("unknown shortcut 'skip'"));
    CHECK_THROWS_WITH(setting_matrix({"20"}, {"plain"}, {"none"}, {"ln"}), Catch::Contains("unknown norm 'ln'"));
    CHECK_THROWS_WITH(setting_matrix({}, {"plain"}, {"none"}, {"bn"}), Catch::Contains("depth axis is empty"));
    CHECK_THROWS_WITH(setting_matrix({"20"}, {"plain"}, {}, {"bn"}), Catch::Contains("heads axis is empty"));
}

TEST_CASE("build_resnet builds each setting's topology as the registry does", "[experiment][settings]") {
    auto plain = build_resnet<float>(parse_setting("plain8-aux-none"), 1, 10, 28, 0);
    CHECK(plain->options().shortcut() == nn::Shortcut::none);
    CHECK(plain->options().norm() == nn::Norm::none);
    CHECK_FALSE(plain->options().zero_init_residual());
    CHECK(plain->aux_head(0) != nullptr);
    CHECK(plain->aux_head(1) != nullptr);
    CHECK(plain->aux_head(2) == nullptr);
    CHECK(plain->blocks().size() == 3);
    auto res = build_resnet<float>(parse_setting("resnet8-none"), 1, 10, 28, 0);
    CHECK(res->options().shortcut() == nn::Shortcut::zero_pad);
    CHECK(res->options().zero_init_residual());  // unnormalised residual sums start at the shortcut
    CHECK(res->aux_head(0) == nullptr);
    auto res_bn = build_resnet<float>(parse_setting("resnet8-bn"), 1, 10, 28, 0);
    CHECK_FALSE(res_bn->options().zero_init_residual());
    auto imagenet = build_resnet<float>(parse_setting("resnet18i-aux-bn"), 1, 10, 28, 0);
    CHECK(imagenet->options().shortcut() == nn::Shortcut::projection);
    CHECK(imagenet->blocks().size() == 8);
    CHECK(imagenet->aux_head(2) != nullptr);
    CHECK(imagenet->aux_head(3) == nullptr);
    // The same seed gives the same weights whatever the heads.
    auto a = build_resnet<float>(parse_setting("plain8-bn"), 1, 10, 28, 3);
    auto b = build_resnet<float>(parse_setting("plain8-aux-bn"), 1, 10, 28, 3);
    CHECK((a->stem_conv().weight().value.array() == b->stem_conv().weight().value.array()).all());
}

TEST_CASE("Plain and residual twins with batch-norm start from identical weights", "[experiment][settings]") {
    auto plain = build_resnet<float>(parse_setting("plain14-bn"), 1, 10, 28, 5);
    auto residual = build_resnet<float>(parse_setting("resnet14-aux-bn"), 1, 10, 28, 5);
    auto p = plain->named_parameters();
    auto r = residual->named_parameters();
    REQUIRE(r.size() > p.size());  // the heads' parameters come last
    for (std::size_t i = 0; i < p.size(); ++i) {
        CHECK(p[i].name == r[i].name);
        CHECK((p[i].parameter->value.array() == r[i].parameter->value.array()).all());
    }
}

TEST_CASE("dsn settings parse, print and build the deeply-supervised net and its plain twin", "[experiment][settings]") {
    const Setting d = parse_setting("dsn-bn");
    CHECK(d.depth.dsn);
    CHECK(d.heads);
    CHECK_FALSE(d.residual);
    CHECK(d.norm == nn::Norm::batch);
    CHECK(d.name() == "dsn-bn");
    CHECK(d.family() == "plain+aux");
    const Setting p = parse_setting("dsn-noaux-none@30");
    CHECK_FALSE(p.heads);
    CHECK(p.norm == nn::Norm::none);
    CHECK(p.spec() == "dsn-noaux-none@30");
    CHECK(p.family() == "plain");
    for (const char* bad : {"dsn", "dsn-aux-bn", "dsn-noaux", "resnetdsn-bn", "plaindsn-bn", "dsn-bn-none"})
        CHECK_THROWS_WITH(parse_setting(bad), Catch::Contains(std::string("'") + bad + "' is not a setting"));
    // The axes give dsn without a residual twin.
    const auto m = setting_matrix({"dsn"}, {"plain", "residual"}, {"none", "aux"}, {"bn"});
    REQUIRE(m.size() == 2);
    CHECK(m[0].name() == "dsn-noaux-bn");
    CHECK(m[1].name() == "dsn-bn");
    CHECK_THROWS_WITH(build_resnet<float>(d, 1, 10, 28, 0), Catch::Contains("'dsn-bn' is not a ResNet setting"));

    // dsn-noaux starts from exactly dsn's main-path weights: same names and values, the heads' parameters removed.
    auto with = build_network<float>(d, 1, 10, 28, 4);
    auto without = build_network<float>(parse_setting("dsn-noaux-bn"), 1, 10, 28, 4);
    CHECK(with->type_name() == "DSN");
    const auto a = with->named_parameters();
    const auto b = without->named_parameters();
    REQUIRE(b.size() + 4 == a.size());  // two linear heads: weight and bias each
    std::size_t j = 0;
    for (const auto& np : a) {
        if (np.name.rfind("aux", 0) == 0) continue;
        REQUIRE(j < b.size());
        CHECK(np.name == b[j].name);
        CHECK((np.parameter->value.array() == b[j].parameter->value.array()).all());
        ++j;
    }
    CHECK(j == b.size());
    // Unnormalised: convs carry biases.
    auto none = build_network<float>(parse_setting("dsn-none"), 1, 10, 28, 4);
    CHECK(none->named_parameters().size() == a.size() + 6 - 12);  // 6 conv biases instead of 6 BN (gamma, beta) pairs
    CHECK_THROWS_WITH(build_network<float>(d, 1, 10, 4, 0), Catch::Contains("dsn needs inputs of at least 8x8"));
}
