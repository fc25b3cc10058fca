// Tests of cli_options.hpp: every field of config.hpp's table is a command-line option named after its key, with
// the default --help shows, its check and its form (value, flag, on|off, list), and a command line giving every
// field a non-default value parses into exactly that configuration.

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "cli_options.hpp"
#include "config_values.hpp"

using namespace strata;
using namespace strata::train;
using Catch::Contains;

namespace {

/// What a command line (after the program name) gives: the configuration and the options given.
struct Parsed {
    TrainConfig cfg;
    std::vector<std::string> given;
};

/// Parses `args` as train_mnist does (a repeated option: the last wins), with the configuration's options only.
/// Throws CLI::ParseError as CLI11 does.
Parsed parse(const std::vector<std::string>& args) {
    CLI::App app{"test", "train_mnist"};
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    Parsed out;
    add_config_options(app, out.cfg);
    std::vector<const char*> argv{"train_mnist"};
    for (const auto& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
    for (const CLI::Option* opt : app.get_options())
        if (opt->count() > 0) out.given.push_back(opt->get_single_name());
    return out;
}

}  // namespace

TEST_CASE("Every field is an option named after its key, with its short name, default display and help",
          "[train][cli]") {
    CLI::App app{"test", "train_mnist"};
    TrainConfig cfg;
    std::vector<std::string> order;
    add_config_options(app, cfg, [&](const std::string& key) { order.push_back(key); });
    CHECK(app.get_options().size() == config_fields().size() + 1);  // and --help
    const auto defaults = to_map(TrainConfig());
    std::size_t i = 0;
    for (const ConfigField& f : config_fields()) {
        INFO(f.key);
        CHECK(order.at(i++) == f.key);
        const CLI::Option* opt = app.get_option_no_throw(std::string("--") + f.key);
        REQUIRE(opt != nullptr);
        if (*f.short_name != '\0') CHECK(app.get_option_no_throw(f.short_name) == opt);
        CHECK_THAT(opt->get_description(), Contains(f.help));
        if (f.cli_default == CliDefault::shown)
            CHECK(opt->get_default_str() == defaults.at(f.key));
        else
            CHECK(opt->get_default_str().empty());
        if (f.cli_default == CliDefault::recipe) CHECK_THAT(opt->get_description(), Contains("the model's recipe"));
        if (f.form == CliForm::on_off) CHECK(opt->get_description().rfind("on | off: ", 0) == 0);
    }
}

TEST_CASE("A command line giving every field a non-default value parses into that configuration", "[train][cli]") {
    TrainConfig want;
    for_each_config_field(want, [](const char*, auto& value) { value = test::other_value(value); });
    // The fields whose check accepts only names: another valid name.
    want.norm = "none";
    want.optimizer = "adam";
    want.schedule = "step";
    want.normalize = "mnist";
    const auto text = to_map(want);
    std::vector<std::string> args;
    for (const ConfigField& f : config_fields()) {
        args.push_back(std::string("--") + f.key);
        if (f.form != CliForm::flag) args.push_back(text.at(f.key));
        else REQUIRE(text.at(f.key) == "on");  // other_value flips the default off
    }
    const Parsed got = parse(args);
    CHECK(to_map(got.cfg) == text);
    CHECK(got.cfg.lr == want.lr);  // bit for bit
    CHECK(got.given.size() == config_fields().size());
    const Parsed none = parse({});
    CHECK(to_map(none.cfg) == to_map(TrainConfig()));
    CHECK(none.given.empty());
}

TEST_CASE("The options' checks name the option and the value; on|off, flags and lists", "[train][cli]") {
    CHECK_THROWS_WITH(parse({"--epochs", "0"}), Contains("--epochs") && Contains("0"));
    CHECK_THROWS_WITH(parse({"--optimizer", "lbfgs"}), Contains("--optimizer") && Contains("lbfgs"));
    CHECK_THROWS_WITH(parse({"--augment", "maybe"}), Contains("--augment") && Contains("maybe"));
    CHECK_THROWS_WITH(parse({"--momentum", "1"}), Contains("--momentum"));
    CHECK_THROWS_WITH(parse({"--milestones", "3,0"}), Contains("--milestones"));
    CHECK_THROWS_AS(parse({"--batch-size", "abc"}), CLI::ParseError);
    CHECK(parse({"--augment", "on"}).cfg.augment);
    CHECK_FALSE(parse({"--zero-init-residual", "on", "--zero-init-residual", "off"}).cfg.zero_init_residual);
    const Parsed p = parse({"--nesterov", "-q", "-b", "64", "--milestones", "3,5", "--milestones", "8"});
    CHECK(p.cfg.nesterov);
    CHECK(p.cfg.quiet);
    CHECK(p.cfg.batch_size == 64);
    CHECK(p.cfg.milestones == std::vector<index_t>{3, 5, 8});
    CHECK(p.given == std::vector<std::string>{"batch-size", "nesterov", "milestones", "quiet"});
}
