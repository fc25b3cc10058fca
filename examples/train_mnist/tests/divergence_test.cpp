// Tests of the divergence stop of TrainingRun (train/divergence.hpp): a non-finite loss stops the run before the
// step is applied and before anything is saved; anomaly mode names the op; a checkpoint saved earlier (by this
// run or the one it resumed) stays byte-identical; a non-finite model is never saved, also not on interruption;
// and the messages.

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>

#include "loop.hpp"
#include "train_test_util.hpp"

using namespace strata;
using namespace strata::train;
using Catch::Contains;

namespace {

TrainConfig tiny_config() {
    TrainConfig c;
    c.data_dir = "(synthetic)";
    c.model = "resnet8";
    c.epochs = 1;
    c.batch_size = 16;
    c.eval_batch_size = 32;
    c.lr = 0.05;
    c.schedule = "none";
    c.seed = 3;
    return c;
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("a non-finite loss stops the run without applying the step or saving", "[train][divergence]") {
    const data::Dataset train = test::blocks_dataset(96, 1), test = test::blocks_dataset(32, 2);  // 6 steps/epoch
    test::TrainTempDir dir;
    TrainConfig c = tiny_config();
    c.lr = 1e30;
    c.epochs = 2;
    c.checkpoint = dir.file("run.ck");
    TrainingRun run(c, train, test);
    REQUIRE(run.run() == RunOutcome::diverged);
    const Divergence& d = run.divergence();
    CHECK(d.epoch == 1);
    CHECK(d.step >= 2);  // the first step starts from finite weights
    CHECK(d.batch == d.step);
    CHECK(d.batches == 6);
    CHECK_FALSE(std::isfinite(d.loss));
    CHECK_FALSE(d.anomaly);
    CHECK_THAT(d.what, Contains("the training loss is"));
    CHECK(run.progress().step == d.step - 1);  // the refused step was not counted
    CHECK(run.history().empty());
    CHECK(dir.listing().empty());  // nothing saved
    CHECK(run.last_saved_step() == -1);
    const std::string msg = describe(d, c);
    CHECK_THAT(msg, Contains("training diverged at epoch 1, step " + std::to_string(d.step) + " (batch ") &&
                        Contains(" of 6): the training loss is ") && Contains("lower --lr (now 1e+30)") &&
                        Contains("use --clip-grad-norm"));
}

TEST_CASE("anomaly mode names the op that produced the first non-finite value", "[train][divergence]") {
    const data::Dataset train = test::blocks_dataset(96, 1), test = test::blocks_dataset(32, 2);
    TrainConfig c = tiny_config();
    c.lr = 1e30;
    c.detect_anomaly = true;
    TrainingRun run(c, train, test);
    REQUIRE(run.run() == RunOutcome::diverged);
    const Divergence& d = run.divergence();
    CHECK(d.anomaly);
    CHECK_THAT(d.what, Contains("anomaly: the ") && Contains(" of op '"));
    CHECK_THAT(describe(d, c), Contains("anomaly detected at epoch 1, step ") && Contains("op '"));
    // Without anomaly mode the same run stops on the loss one forward later at the earliest.
    c.detect_anomaly = false;
    TrainingRun plain(c, train, test);
    REQUIRE(plain.run() == RunOutcome::diverged);
    CHECK(plain.divergence().step >= d.step);
}

TEST_CASE("a resumed run that diverges leaves its checkpoint byte-identical", "[train][divergence]") {
    const data::Dataset train = test::blocks_dataset(64, 1), test = test::blocks_dataset(32, 2);  // 4 steps/epoch
    test::TrainTempDir dir;
    TrainConfig c = tiny_config();
    c.checkpoint = dir.file("run.ck");
    {
        TrainingRun good(c, train, test);
        REQUIRE(good.run() == RunOutcome::completed);
        CHECK(good.last_saved_step() == 4);
    }
    const std::string before = file_bytes(c.checkpoint);
    REQUIRE(!before.empty());
    c.epochs = 3;
    TrainingRun more(c, train, test);
    more.resume(io::Checkpoint::load(c.checkpoint));
    CHECK(more.last_saved_step() == 4);
    more.optimizer().control().set_lr(0, 1e30);  // what an exploding run looks like
    REQUIRE(more.run() == RunOutcome::diverged);
    CHECK(more.divergence().epoch == 2);
    CHECK(file_bytes(c.checkpoint) == before);
    CHECK(dir.listing() == std::vector<std::string>{"run.ck"});
}

TEST_CASE("a model holding a NaN is never saved", "[train][divergence]") {
    const data::Dataset train = test::blocks_dataset(64, 1), test = test::blocks_dataset(32, 2);
    test::TrainTempDir dir;
    TrainConfig c = tiny_config();
    c.checkpoint = dir.file("run.ck");
    TrainingRun run(c, train, test);
    REQUIRE(run.run() == RunOutcome::completed);
    const std::string before = file_bytes(c.checkpoint);
    const auto named = run.model().named_parameters();
    named.back().parameter->value[0] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(run.save_checkpoint(), NumericError);
    CHECK_THROWS_WITH(run.save_checkpoint(), Contains("refusing to save the checkpoint") &&
                                                 Contains("parameter " + named.back().name + " (element 0)"));
    CHECK(file_bytes(c.checkpoint) == before);
    CHECK(first_non_finite_state(run.model()) == "parameter " + named.back().name + " (element 0)");
    named.back().parameter->value[0] = 0.0f;
    CHECK(first_non_finite_state(run.model()).empty());
    const auto buffers = run.model().named_buffers();
    REQUIRE(!buffers.empty());
    buffers.front().buffer->data()[1] = std::numeric_limits<float>::infinity();
    CHECK(first_non_finite_state(run.model()) == "buffer " + buffers.front().name + " (element 1)");
}

TEST_CASE("an interruption with a non-finite model reports divergence instead of saving", "[train][divergence]") {
    const data::Dataset train = test::blocks_dataset(64, 1), test = test::blocks_dataset(32, 2);
    test::TrainTempDir dir;
    TrainConfig c = tiny_config();
    c.epochs = 2;
    c.checkpoint = dir.file("run.ck");
    TrainingRun run(c, train, test);
    run.model().parameters().front()->value[3] = -std::numeric_limits<float>::infinity();
    request_stop(SIGINT);
    const RunOutcome outcome = run.run();
    clear_stop_request();
    CHECK(outcome == RunOutcome::diverged);
    CHECK_THAT(run.divergence().what, Contains("(element 3) is not finite"));
    CHECK(run.divergence().batch == 0);
    CHECK(dir.listing().empty());
    CHECK_THAT(describe(run.divergence(), c),
               Contains("training diverged after step 0 (epoch 1), before saving: parameter "));
}

TEST_CASE("describe() adapts its hint to --clip-grad-norm", "[train][divergence]") {
    TrainConfig c = tiny_config();
    c.lr = 0.5;
    c.clip_grad_norm = 2;
    Divergence d;
    d.epoch = 3;
    d.step = 17;
    d.batch = 5;
    d.batches = 8;
    d.what = "the training loss is inf";
    CHECK(describe(d, c) == "training diverged at epoch 3, step 17 (batch 5 of 8): the training loss is inf; lower "
                            "--lr (now 0.5) or --clip-grad-norm (now 2)");
    CHECK(number_text(std::nan("")) == "nan");
    CHECK(number_text(-HUGE_VAL) == "-inf");
    CHECK(number_text(0.25) == "0.25");
}
