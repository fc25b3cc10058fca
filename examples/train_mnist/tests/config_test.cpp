// Tests of config.hpp: the field table (every field has a text form, a resume rule, a key of its own), the recipe
// defaults, validation messages, the exact text round trip, and the rules
// that merge a resumed run's command line with the checkpoint's configuration.

#include <catch2/catch.hpp>

#include <set>

#include "config.hpp"
#include "config_values.hpp"

using namespace strata;
using namespace strata::train;
using Catch::Contains;

TEST_CASE("TrainConfig defaults are the issue's recipe and valid", "[train][config]") {
    const TrainConfig c;
    CHECK(c.model == "resnet18");
    CHECK(c.optimizer == "sgd");
    CHECK(c.momentum == 0.9);
    CHECK(c.lr == 0.05);
    CHECK(c.schedule == "cosine");
    CHECK(c.weight_decay == 5e-4);
    CHECK(c.batch_size == 128);
    CHECK(c.normalize != "none");
    CHECK_FALSE(c.augment);
    CHECK(c.epochs == 1);
    CHECK_NOTHROW(validate(c));
}

TEST_CASE("validate names the option and the value", "[train][config]") {
    auto bad = [](auto change) {
        TrainConfig c;
        change(c);
        return c;
    };
    CHECK_THROWS_WITH(validate(bad([](TrainConfig& c) { c.epochs = 0; })), Contains("--epochs") && Contains("0"));
    CHECK_THROWS_WITH(validate(bad([](TrainConfig& c) { c.batch_size = -3; })), Contains("--batch-size"));
    CHECK_THROWS_WITH(validate(bad([](TrainConfig& c) { c.optimizer = "lbfgs"; })),
                      Contains("lbfgs") && Contains("sgd, adam, adamw, rmsprop"));
    CHECK_THROWS_WITH(validate(bad([](TrainConfig& c) { c.schedule = "linear"; })), Contains("'linear'"));
    CHECK_THROWS_WITH(validate(bad([](TrainConfig& c) { c.lr = -1; })), Contains("--lr"));
    CHECK_THROWS_WITH(validate(bad([](TrainConfig& c) { c.momentum = 1.0; })), Contains("--momentum"));
    CHECK_THROWS_WITH(validate(bad([](TrainConfig& c) {
                          c.schedule = "plateau";
                          c.warmup = 5;
                      })),
                      Contains("--warmup cannot be combined with --schedule plateau"));
    CHECK_THROWS_WITH(validate(bad([](TrainConfig& c) {
                          c.schedule = "onecycle";
                          c.warmup = 5;
                      })),
                      Contains("one-cycle has its own warm-up"));
    CHECK_THROWS_WITH(validate(bad([](TrainConfig& c) {
                          c.nesterov = true;
                          c.optimizer = "adam";
                      })),
                      Contains("--nesterov"));
    CHECK_THROWS_WITH(validate(bad([](TrainConfig& c) { c.milestones = {3, 0}; })), Contains("--milestones"));
    CHECK_THROWS_WITH(validate(bad([](TrainConfig& c) { c.normalize = "zscore"; })), Contains("zscore"));
    CHECK_THROWS_AS(validate(bad([](TrainConfig& c) { c.gamma = 0; })), ArgumentError);
}

TEST_CASE("to_text and from_text round trip every field exactly", "[train][config]") {
    TrainConfig c;
    c.data_dir = "/tmp/some dir";
    c.model = "resnet20-aux";
    c.epochs = 7;
    c.batch_size = 33;
    c.eval_batch_size = 17;
    c.optimizer = "adamw";
    c.lr = 0.1 + 0.2;  // not a short decimal: must still round trip bit for bit
    c.momentum = 0.85;
    c.weight_decay = 1.0 / 3.0;
    c.nesterov = false;
    c.schedule = "multistep";
    c.warmup = 11;
    c.warmup_start = 0.25;
    c.step_size = 2;
    c.milestones = {3, 5};
    c.gamma = 0.5;
    c.patience = 4;
    c.augment = true;
    c.crop_pad = 3;
    c.translate = 1;
    c.normalize = "mnist";
    c.clip_grad_norm = 2.5;
    c.threads = 2;
    c.seed = 18446744073709551615ull;
    c.limit = 1000;
    c.test_limit = 500;
    c.checkpoint = "run.ck";
    c.metrics = "m.jsonl";
    c.quiet = true;
    c.stop_after = 9;
    c.zero_init_residual = true;
    const TrainConfig r = from_text(to_text(c));
    CHECK(to_map(r) == to_map(c));
    CHECK(r.lr == c.lr);
    CHECK(r.weight_decay == c.weight_decay);
    CHECK(r.seed == c.seed);
    CHECK(r.milestones == c.milestones);
    CHECK(r.data_dir == c.data_dir);
    CHECK(r.augment);
    CHECK(r.zero_init_residual);
    CHECK(to_text(c).find("lr=0.30000000000000004\n") != std::string::npos);
}

TEST_CASE("from_text rejects unknown, missing, duplicate and malformed keys", "[train][config]") {
    const std::string good = to_text(TrainConfig());
    CHECK_THROWS_WITH(from_text(good + "colour=red\n"), Contains("unknown key 'colour'"));
    std::string missing = good;
    missing.erase(missing.find("lr="), missing.find('\n', missing.find("lr=")) - missing.find("lr=") + 1);
    CHECK_THROWS_WITH(from_text(missing), Contains("missing key 'lr'"));
    CHECK_THROWS_WITH(from_text(good + "lr=0.1\n"), Contains("duplicate key 'lr'"));
    std::string bad = good;
    bad.replace(bad.find("epochs=1"), 8, "epochs=x");
    CHECK_THROWS_WITH(from_text(bad), Contains("'x'") && Contains("epochs"));
    CHECK_THROWS_AS(from_text("no equals sign\n"), FormatError);
}

TEST_CASE("merge_for_resume keeps fixed options, takes inherited and fresh ones", "[train][config]") {
    TrainConfig saved;
    saved.lr = 0.1;
    saved.epochs = 2;
    saved.checkpoint = "a.ck";
    saved.stop_after = 5;
    saved.metrics = "old.jsonl";
    TrainConfig cli;  // defaults, except what the "command line" set
    cli.checkpoint = "a.ck";
    cli.epochs = 4;

    SECTION("not given: the checkpoint's values, fresh ones from the command line") {
        const TrainConfig m = merge_for_resume(saved, cli, {"checkpoint", "resume"});
        CHECK(m.lr == 0.1);
        CHECK(m.epochs == 2);
        CHECK(m.metrics == "old.jsonl");
        CHECK(m.stop_after == 0);  // fresh: the command line's default, not the interrupted run's
    }
    SECTION("inherited options may change") {
        cli.metrics = "new.jsonl";
        const TrainConfig m = merge_for_resume(saved, cli, {"checkpoint", "epochs", "metrics"});
        CHECK(m.epochs == 4);
        CHECK(m.metrics == "new.jsonl");
        CHECK(m.lr == 0.1);
    }
    SECTION("a fixed option given with the same value is fine, with another value an error") {
        cli.lr = 0.1;
        CHECK(merge_for_resume(saved, cli, {"lr"}).lr == 0.1);
        cli.lr = 0.2;
        CHECK_THROWS_WITH(merge_for_resume(saved, cli, {"lr"}),
                          Contains("--lr 0.2 differs from the checkpoint's 0.1") && Contains("keeps the configuration"));
    }
    CHECK(resume_rule("model") == ResumeRule::fixed);
    CHECK(resume_rule("threads") == ResumeRule::inherit);
    CHECK(resume_rule("quiet") == ResumeRule::fresh);
}

TEST_CASE("Options norm and detect-anomaly: text form, validation, resume rules, older checkpoints", "[train][config]") {
    TrainConfig c;
    c.norm = "none";
    c.detect_anomaly = true;
    const TrainConfig r = from_text(to_text(c));
    CHECK(r.norm == "none");
    CHECK(r.detect_anomaly);
    CHECK(to_text(c).find("norm=none\n") != std::string::npos);
    CHECK(to_text(c).find("detect-anomaly=on\n") != std::string::npos);
    // A configuration written before these keys existed reads with their defaults.
    std::string old = to_text(c);
    for (const char* key : {"norm=", "detect-anomaly="}) {
        const auto at = old.find(std::string("\n") + key) + 1;
        old.erase(at, old.find('\n', at) - at + 1);
    }
    const TrainConfig o = from_text(old);
    CHECK(o.norm == "batch");
    CHECK_FALSE(o.detect_anomaly);
    c.norm = "group";
    CHECK_THROWS_WITH(validate(c), Contains("--norm: unknown value 'group'; valid: batch, none"));
    CHECK(resume_rule("norm") == ResumeRule::fixed);
    CHECK(resume_rule("detect-anomaly") == ResumeRule::fresh);
    TrainConfig saved, cli;
    cli.detect_anomaly = true;
    CHECK(merge_for_resume(saved, cli, {}).detect_anomaly);  // fresh: the command line decides
}

TEST_CASE("Option zero-init-residual: text form, resume rule, older checkpoints", "[train][config]") {
    TrainConfig c;
    c.zero_init_residual = true;
    CHECK(to_text(c).find("zero-init-residual=on\n") != std::string::npos);
    CHECK(from_text(to_text(c)).zero_init_residual);
    std::string old = to_text(c);  // a checkpoint written before the key existed: off, as those runs were
    const auto at = old.find("\nzero-init-residual=") + 1;
    old.erase(at, old.find('\n', at) - at + 1);
    CHECK_FALSE(from_text(old).zero_init_residual);
    CHECK(resume_rule("zero-init-residual") == ResumeRule::fixed);
    TrainConfig saved, cli;
    saved.zero_init_residual = true;
    CHECK(merge_for_resume(saved, cli, {}).zero_init_residual);  // not given: the checkpoint's
    CHECK_THROWS_WITH(merge_for_resume(saved, cli, {"zero-init-residual"}),
                      Contains("--zero-init-residual off differs from the checkpoint's on"));
}

TEST_CASE("The field table names every member of TrainConfig once, with a key of its own", "[train][config]") {
    // A member added to the struct by hand, outside STRATA_TRAIN_CONFIG_FIELDS, changes the aggregate's count.
    constexpr std::size_t members = test::aggregate_member_count<TrainConfig>();
    CHECK(members == config_fields().size());
    std::size_t visited = 0;
    TrainConfig c;
    for_each_config_field(c, [&](const char*, auto&) { ++visited; });
    CHECK(visited == members);
    std::set<std::string> keys;
    for (const ConfigField& f : config_fields()) {
        INFO(f.key);
        CHECK(keys.insert(f.key).second);  // no two fields share a key
        CHECK(std::string(f.key).find_first_of("= \n") == std::string::npos);
        CHECK(std::string(f.help).size() > 10);
    }
    CHECK(to_map(c).size() == members);
    CHECK(keys.count("zero-init-residual") == 1);
    CHECK(optional_config_keys() == std::vector<std::string>{"norm", "zero-init-residual", "detect-anomaly"});
}

TEST_CASE("Every field's non-default value survives the text form, alone and all together", "[train][config]") {
    const TrainConfig defaults;
    const std::string default_text = to_text(defaults);
    TrainConfig all;
    for_each_config_field(all, [](const char*, auto& value) { value = test::other_value(value); });
    const std::size_t n = config_fields().size();
    for (std::size_t i = 0; i < n; ++i) {
        TrainConfig one;
        std::string key;
        std::size_t j = 0;
        for_each_config_field(one, [&](const char* k, auto& value) {
            if (j++ == i) {
                key = k;
                value = test::other_value(value);
            }
        });
        INFO(key);
        const std::string text = to_text(one);
        CHECK(text != default_text);  // the field has a text form
        const TrainConfig back = from_text(text);
        CHECK(to_map(back) == to_map(one));
        CHECK(to_map(back).at(key) != to_map(defaults).at(key));  // and it reads back into the same field
    }
    const TrainConfig back = from_text(to_text(all));
    CHECK(to_map(back) == to_map(all));
    // Field by field, on the values themselves (doubles bit for bit), not only on their text.
    std::size_t k = 0;
#define STRATA_X(type, member, ...)                  \
    {                                                \
        INFO(#member);                               \
        CHECK(back.member == all.member);            \
        CHECK_FALSE(back.member == defaults.member); \
        ++k;                                         \
    }
    STRATA_TRAIN_CONFIG_FIELDS(STRATA_X)
#undef STRATA_X
    CHECK(k == n);
}

TEST_CASE("The default configuration's text is what checkpoints have always stored", "[train][config]") {
    // Written by the hand-written to_map before the table (and, but for zero-init-residual, by the trainer of
    // tests/fixtures/old_resnet8_step0.ck.tar.gz): a change of a key or a value's text breaks old checkpoints.
    const std::string expected =
        "augment=off\n"
        "batch-size=128\n"
        "checkpoint=\n"
        "clip-grad-norm=0\n"
        "crop-pad=2\n"
        "data=/usr/share/datasets/fashion-mnist\n"
        "detect-anomaly=off\n"
        "epochs=1\n"
        "eval-batch-size=500\n"
        "gamma=0.1\n"
        "limit=0\n"
        "lr=0.05\n"
        "metrics=\n"
        "milestones=\n"
        "model=resnet18\n"
        "momentum=0.9\n"
        "nesterov=off\n"
        "norm=batch\n"
        "normalize=auto\n"
        "optimizer=sgd\n"
        "patience=2\n"
        "quiet=off\n"
        "schedule=cosine\n"
        "seed=0\n"
        "step-size=0\n"
        "stop-after=0\n"
        "test-limit=0\n"
        "threads=0\n"
        "translate=2\n"
        "warmup=0\n"
        "warmup-start=0.1\n"
        "weight-decay=0.0005\n"
        "zero-init-residual=off\n"
        ;
    CHECK(to_text(TrainConfig()) == expected);
    CHECK(from_text(expected).lr == 0.05);
}
