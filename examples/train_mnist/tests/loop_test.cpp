// Tests of train/loop.hpp (TrainingRun) on a small synthetic dataset: it learns; a run interrupted (by
// stop_after or a stop request) and resumed from its checkpoint reproduces the uninterrupted run's metrics and
// weights exactly; a resumed run may train more epochs; the checkpoint is written only by saves.

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <sstream>

#include "loop.hpp"
#include "train_test_util.hpp"

using namespace strata;
using namespace strata::train;
using Catch::Contains;

namespace {

TrainConfig small_config(const std::string& model) {
    TrainConfig c;
    c.data_dir = "(synthetic)";
    c.model = model;
    c.epochs = 2;
    c.batch_size = 16;
    c.eval_batch_size = 32;
    c.lr = 0.05;
    c.warmup = 3;
    c.augment = true;
    c.crop_pad = 1;
    c.translate = 1;
    c.seed = 5;
    return c;
}

/// The metrics without the timing fields.
std::vector<std::string> exact_part(const std::vector<EpochMetrics>& history) {
    std::vector<std::string> out;
    for (EpochMetrics m : history) {
        m.images_per_s = m.seconds = 0;
        out.push_back(to_json_line(m));
    }
    return out;
}

std::vector<std::vector<float>> weights(TrainingRun& run) {
    std::vector<std::vector<float>> out;
    for (auto& p : run.model().named_parameters())
        out.emplace_back(p.parameter->value.data(), p.parameter->value.data() + p.parameter->value.numel());
    for (auto& b : run.model().named_buffers()) out.emplace_back(b.buffer->data(), b.buffer->data() + b.buffer->numel());
    return out;
}

}  // namespace

TEST_CASE("TrainingRun learns the synthetic blocks", "[train][loop]") {
    const data::Dataset train = test::blocks_dataset(160, 1), test = test::blocks_dataset(80, 2);
    TrainConfig c = small_config("resnet8");
    c.epochs = 3;
    c.augment = false;  // the class is the position of the block: translations would blur it
    TrainingRun run(c, train, test);
    std::ostringstream log;
    RunOutput out;
    out.log = &log;
    CHECK(run.run(out) == RunOutcome::completed);
    REQUIRE(run.history().size() == 3);
    CHECK(run.history().back().test_acc > 0.5);
    CHECK(run.history().back().step == 30);
    CHECK(run.history().back().lr < 1e-3);  // cosine annealed to ~0 at the last step
    CHECK_THAT(log.str(), Contains("epoch 3/3: train loss"));
    CHECK(run.progress().epoch == 3);
}

TEST_CASE("an interrupted and resumed run reproduces the uninterrupted one", "[train][loop]") {
    const data::Dataset train = test::blocks_dataset(90, 1), test = test::blocks_dataset(40, 2);  // 6 steps/epoch
    const std::string model = GENERATE(std::string("resnet8-aux"), std::string("resnet8"));
    const index_t stop_at = GENERATE(index_t{4}, index_t{6}, index_t{9});
    CAPTURE(model, stop_at);
    test::TrainTempDir dir;
    TrainConfig c = small_config(model);
    if (model == "resnet8") {
        c.optimizer = "adamw";
        c.schedule = "onecycle";
        c.warmup = 0;
        c.lr = 0.01;
    }

    TrainingRun whole(c, train, test);
    REQUIRE(whole.run() == RunOutcome::completed);

    c.checkpoint = dir.file("run.ck");
    c.stop_after = stop_at;
    std::vector<EpochMetrics> history;
    {
        TrainingRun first(c, train, test);
        REQUIRE(first.run() == RunOutcome::interrupted);
        CHECK(first.progress().step == stop_at);
        history = first.history();
    }
    CHECK(dir.listing() == std::vector<std::string>{"run.ck"});  // no temporary file left
    c.stop_after = 0;
    TrainingRun second(c, train, test);
    second.resume(io::Checkpoint::load(c.checkpoint));
    CHECK(second.progress().step == stop_at);
    REQUIRE(second.run() == RunOutcome::completed);
    history.insert(history.end(), second.history().begin(), second.history().end());

    CHECK(exact_part(history) == exact_part(whole.history()));
    CHECK(weights(second) == weights(whole));
}

TEST_CASE("a stop request ends the run after the current step and saves", "[train][loop]") {
    const data::Dataset train = test::blocks_dataset(64, 1), test = test::blocks_dataset(32, 2);
    test::TrainTempDir dir;
    TrainConfig c = small_config("resnet8");
    c.checkpoint = dir.file("run.ck");
    TrainingRun run(c, train, test);
    CHECK(dir.listing().empty());  // never created before the first save
    request_stop(SIGTERM);
    CHECK(run.run() == RunOutcome::interrupted);
    clear_stop_request();
    CHECK(run.progress().step == 0);
    const io::Checkpoint ck = io::Checkpoint::load(c.checkpoint);
    CHECK(ck.get_scalar<index_t>("progress.step") == 0);
    CHECK(from_text(training_config_text(ck)).model == "resnet8");
}

TEST_CASE("a resumed run may train more epochs", "[train][loop]") {
    const data::Dataset train = test::blocks_dataset(64, 1), test = test::blocks_dataset(32, 2);
    test::TrainTempDir dir;
    TrainConfig c = small_config("resnet8");
    c.epochs = 1;
    c.checkpoint = dir.file("run.ck");
    {
        TrainingRun run(c, train, test);
        REQUIRE(run.run() == RunOutcome::completed);
        CHECK(run.history().back().lr < 1e-6);
    }
    c.epochs = 3;
    TrainingRun more(c, train, test);
    more.resume(io::Checkpoint::load(c.checkpoint));
    CHECK(more.optimizer().control().lr(0) > 0.01);  // recomputed for 3 epochs: a third of the way down the cosine
    REQUIRE(more.run() == RunOutcome::completed);
    REQUIRE(more.history().size() == 2);
    CHECK(more.history().front().epoch == 2);
    CHECK(more.history().back().step == 12);
}

TEST_CASE("TrainingRun rejects a bad configuration or data", "[train][loop]") {
    const data::Dataset train = test::blocks_dataset(32, 1), test = test::blocks_dataset(16, 2);
    TrainConfig c = small_config("resnet7");
    CHECK_THROWS_WITH(TrainingRun(c, train, test), Contains("unknown model 'resnet7'"));
    c = small_config("resnet8");
    c.batch_size = 0;
    CHECK_THROWS_WITH(TrainingRun(c, train, test), Contains("--batch-size"));
    c = small_config("resnet8");
    const data::Dataset empty;
    CHECK_THROWS_WITH(TrainingRun(c, empty, test), Contains("empty"));
}
