#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "recipes.hpp"

using namespace strata;
using namespace strata::train;
using Catch::Matchers::Contains;

TEST_CASE("recipe_for maps every model name to its family's recipe", "[train][recipes]") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"resnet18", "resnet-basic"},        {"resnet34-aux", "resnet-basic"},   {"plain18", "resnet-basic"},
        {"plain34-aux", "resnet-basic"},     {"resnet50", "resnet-bottleneck"}, {"resnet50-aux", "resnet-bottleneck"},
        {"resnet8", "cifar-resnet"},         {"resnet56", "cifar-resnet"},       {"resnet110-aux", "cifar-resnet"},
        {"plain20", "cifar-plain"},          {"plain110-aux", "cifar-plain"},    {"dsn", "dsn"}};
    for (const auto& [model, family] : cases) {
        INFO(model);
        const Recipe* r = recipe_for(model);
        REQUIRE(r != nullptr);
        CHECK(r->name == family);
    }
    for (std::string unknown : {"vgg16", "resnet19", "plain50", "resnet", "resnetx", "resnet99999", "", "-aux"}) {
        INFO(unknown);
        CHECK(recipe_for(unknown) == nullptr);
    }
}

TEST_CASE("Every recipe is a valid configuration and the families differ where the sweep said", "[train][recipes]") {
    for (const Recipe& r : recipes()) {
        INFO(r.name);
        TrainConfig c;
        c.model = r.name == "dsn" ? "dsn" : "resnet18";
        c.lr = r.lr;
        c.warmup = r.warmup;
        c.batch_size = r.batch_size;
        c.zero_init_residual = r.zero_init_residual;
        CHECK_NOTHROW(validate(c));
    }
    CHECK(recipe_for("dsn")->lr < recipe_for("resnet18")->lr);  // squared hinge: a larger gradient scale
    CHECK(recipe_for("resnet50")->zero_init_residual);
    CHECK(recipe_for("resnet56")->warmup > 0);
}

TEST_CASE("apply_recipe fills only the options the command line did not give", "[train][recipes]") {
    const Recipe& bottleneck = *recipe_for("resnet50");
    TrainConfig c;
    c.model = "resnet50";
    c.lr = 0.3;  // as if parsed from --lr 0.3
    REQUIRE(apply_recipe(c, {"model", "lr"}) == &bottleneck);
    CHECK(c.lr == 0.3);
    CHECK(c.warmup == bottleneck.warmup);
    CHECK(c.zero_init_residual == bottleneck.zero_init_residual);
    CHECK(c.batch_size == bottleneck.batch_size);

    TrainConfig all;
    all.model = "resnet50";
    all.lr = 0.3;
    all.warmup = 7;
    all.zero_init_residual = false;
    all.batch_size = 32;
    apply_recipe(all, {"lr", "warmup", "zero-init-residual", "batch-size"});
    CHECK(all.lr == 0.3);
    CHECK(all.warmup == 7);
    CHECK_FALSE(all.zero_init_residual);
    CHECK(all.batch_size == 32);

    TrainConfig dsn;
    dsn.model = "dsn";
    apply_recipe(dsn, {});
    CHECK(dsn.lr == recipe_for("dsn")->lr);

    TrainConfig unknown;
    unknown.model = "vgg16";
    const std::string before = to_text(unknown);
    CHECK(apply_recipe(unknown, {}) == nullptr);
    CHECK(to_text(unknown) == before);
}

TEST_CASE("A recipe's warm-up is left out for the schedules that take none", "[train][recipes]") {
    for (std::string schedule : {"onecycle", "plateau"}) {
        TrainConfig c;
        c.model = "resnet56";
        c.schedule = schedule;
        apply_recipe(c, {"model", "schedule"});
        CHECK(c.warmup == 0);
        CHECK_NOTHROW(validate(c));
    }
    TrainConfig given;  // an explicit --warmup still reaches validate, which names the conflict
    given.model = "resnet56";
    given.schedule = "onecycle";
    given.warmup = 5;
    apply_recipe(given, {"schedule", "warmup"});
    CHECK_THROWS_WITH(validate(given), Contains("--warmup cannot be combined with --schedule onecycle"));
}

TEST_CASE("describe_recipe and recipes_help name the recipe, its values and what the command line set",
          "[train][recipes]") {
    TrainConfig c;
    c.model = "resnet56";
    const Recipe& r = *apply_recipe(c, {"model"});
    CHECK(describe_recipe(r, c, {"model"}) == "recipe cifar-resnet: lr 0.05, warm-up 20 steps, zero-init residual off, batch 128");
    c.lr = 0.1;
    CHECK_THAT(describe_recipe(r, c, {"lr"}), Contains("lr 0.1 (--lr)") && Contains("warm-up 20 steps,"));
    const std::string help = recipes_help();
    for (const Recipe& each : recipes()) CHECK_THAT(help, Contains("  " + each.name + ": lr "));
    CHECK_THAT(help, Contains("overrides"));
}

TEST_CASE("recipe_options are exactly the options apply_recipe may set", "[train][recipes]") {
    CHECK(recipe_options() == std::vector<std::string>{"batch-size", "lr", "warmup", "zero-init-residual"});
    TrainConfig start;  // values no recipe has, so that every option a recipe sets shows up as changed
    start.model = "resnet50";
    start.lr = 0.123;
    start.warmup = 3;
    start.batch_size = 7;
    start.zero_init_residual = false;
    TrainConfig all_given = start;
    REQUIRE(apply_recipe(all_given, recipe_options()) != nullptr);
    CHECK(to_map(all_given) == to_map(start));  // every option it sets is one of recipe_options
    TrainConfig none_given = start;
    apply_recipe(none_given, {});
    const auto before = to_map(start), after = to_map(none_given);
    std::vector<std::string> changed;
    for (const auto& kv : after)
        if (kv.second != before.at(kv.first)) changed.push_back(kv.first);
    CHECK(changed == recipe_options());
}
