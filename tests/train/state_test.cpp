// Tests of train/state.hpp and train/trainer.hpp: a checkpoint of the full training state (model, optimizer, schedule, loader,
// generators of the default RNG and of Dropout, progress) taken in the middle of training, restored into freshly
// built objects, continues bit for bit like the original; and mismatches are refused with clear errors.

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>

#include "strata/models/model_file.hpp"
#include "strata/models/registry.hpp"
#include "strata/nn/activation.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/nn/dropout.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"
#include "strata/optim/any_optimizer.hpp"
#include "strata/optim/schedule/by_name.hpp"
#include "strata/train/state.hpp"
#include "strata/train/trainer.hpp"
#include "train_test_util.hpp"

using namespace strata;
using namespace strata::train;
using Catch::Contains;

namespace {

std::unique_ptr<nn::Module<float>> small_net(std::uint64_t seed) {
    manual_seed(seed);  // weights and the Dropout generator
    auto net = std::make_unique<nn::Sequential<float>>();
    net->emplace<nn::Conv2d<float>>(nn::Conv2dOptions(1, 6, 3).padding(1).bias(false));
    net->emplace<nn::BatchNorm2d<float>>(nn::BatchNormOptions(6));
    net->emplace<nn::ReLU<float>>();
    net->emplace<nn::Flatten<float>>();
    net->emplace<nn::Dropout<float>>(0.3);
    net->emplace<nn::Linear<float>>(nn::LinearOptions(6 * 64, 10));
    return net;
}

/// What a run is built from: an optimizer and a schedule picked by name.
struct RunConfig {
    std::string optimizer = "sgd";
    std::string schedule = "cosine";
    index_t warmup = 0;
    index_t batch_size = 12;
    index_t epochs = 3;
    double lr = 0.05;
    /// The text a checkpoint stores for this configuration.
    std::string text() const { return "optimizer=" + optimizer + "\nschedule=" + schedule + "\n"; }
};

std::unique_ptr<optim::AnyOptimizer<float>> make_opt(const RunConfig& c, nn::Module<float>& model) {
    return optim::make_optimizer<float>(optim::OptimizerSpec(c.optimizer).lr(c.lr).momentum(0.9).weight_decay(5e-4),
                                        optim::split_weight_decay(model.named_parameters()));
}

optim::ScheduleDriver make_sched(const RunConfig& c, optim::LrControl& control, index_t steps_per_epoch) {
    return optim::make_schedule(optim::ScheduleSpec(c.schedule)
                                    .total_steps(c.epochs * steps_per_epoch)
                                    .max_lr(c.lr)
                                    .warmup(c.warmup)
                                    .step_size(steps_per_epoch),
                                control);
}

/// Everything one training run holds, built from a seed (different seeds: different weights and generators).
struct StateRig {
    RunConfig config;
    std::unique_ptr<nn::Module<float>> model;
    std::unique_ptr<optim::AnyOptimizer<float>> opt;
    std::unique_ptr<data::DataLoader> loader;
    optim::ScheduleDriver sched;
    std::unique_ptr<Trainer<float>> trainer;
    TrainProgress progress;

    StateRig(const data::Dataset& d, const RunConfig& c, std::uint64_t init_seed) : config(c) {
        model = small_net(init_seed);
        opt = make_opt(config, *model);
        data::LoaderOptions lo;
        lo.batch_size = config.batch_size;
        lo.seed = 0;
        lo.augment.crop_padding = 1;
        loader = std::make_unique<data::DataLoader>(d, lo);
        sched = make_sched(config, opt->control(), loader->num_batches());
        trainer = std::make_unique<Trainer<float>>(*model, *opt, sched);
    }

    /// `n` steps, crossing epoch ends; returns the losses.
    std::vector<double> steps(int n) {
        std::vector<double> losses;
        data::Batch b;
        loader->set_state(progress.loader);
        while (static_cast<int>(losses.size()) < n) {
            if (!loader->next(b)) {
                ++progress.epoch;
                progress.loss_sum = 0;
                progress.correct = progress.samples = 0;
                sched.after_epoch(1.0);
                continue;
            }
            const StepResult r = trainer->step(b);
            losses.push_back(r.loss);
            ++progress.step;
            progress.loss_sum += r.loss * static_cast<double>(r.samples);
            progress.correct += r.correct;
            progress.samples += r.samples;
            progress.loader = loader->state();
        }
        return losses;
    }
};

bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.numel())) == 0;
}

RunConfig config_with(const std::string& optimizer, const std::string& schedule, index_t warmup) {
    RunConfig c;
    c.optimizer = optimizer;
    c.schedule = schedule;
    c.warmup = warmup;
    c.lr = optimizer == "sgd" ? 0.05 : 0.002;
    return c;
}

}  // namespace

TEST_CASE("a restored training state continues bit for bit", "[train][state]") {
    const data::Dataset d = test::blocks_dataset(40, 7);  // 4 batches per epoch, the last one of 4 samples
    const auto [optimizer, schedule, warmup] = GENERATE(std::make_tuple(std::string("sgd"), std::string("cosine"), 3),
                                                        std::make_tuple(std::string("adamw"), std::string("onecycle"), 0),
                                                        std::make_tuple(std::string("rmsprop"), std::string("step"), 2),
                                                        std::make_tuple(std::string("adam"), std::string("plateau"), 0));
    CAPTURE(optimizer, schedule);
    const RunConfig c = config_with(optimizer, schedule, warmup);

    StateRig original(d, c, 1);
    original.steps(6);  // into the second epoch
    const io::Checkpoint saved = io::Checkpoint::from_bytes(
        make_training_checkpoint(*original.model, *original.opt, original.sched, original.progress, c.text()).to_bytes());
    const std::vector<double> expected = original.steps(5);

    StateRig restored(d, c, 99);  // other weights, other dropout generator
    load_training_checkpoint(saved, *restored.model, *restored.opt, restored.sched, restored.progress);
    CHECK(restored.progress.step == 6);
    CHECK(restored.progress.epoch == 1);
    CHECK(restored.progress.loader == data::LoaderState{1, 2});
    CHECK(restored.progress.samples == 24);
    CHECK(training_config_text(saved) == c.text());
    const std::vector<double> got = restored.steps(5);
    CHECK(got == expected);
    auto a = original.model->named_parameters();
    auto b = restored.model->named_parameters();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(same_bits(a[i].parameter->value, b[i].parameter->value));
    auto ba = original.model->named_buffers();
    auto bb = restored.model->named_buffers();
    for (std::size_t i = 0; i < ba.size(); ++i) CHECK(same_bits(*ba[i].buffer, *bb[i].buffer));
    CHECK(original.opt->control().lr(0) == restored.opt->control().lr(0));
    CHECK(original.progress.loss_sum == restored.progress.loss_sum);
}

TEST_CASE("the training checkpoint lists every part of the state", "[train][state]") {
    const data::Dataset d = test::blocks_dataset(24, 3);
    StateRig rig(d, config_with("sgd", "cosine", 0), 1);
    rig.steps(1);
    const io::Checkpoint ck = make_training_checkpoint(*rig.model, *rig.opt, rig.sched, rig.progress, "x=1\n");
    CHECK(ck.has("model.0.weight"));
    CHECK(ck.has("model.1.running_mean"));
    CHECK(ck.has("optim.group.0.param.0.momentum_buffer"));
    CHECK(ck.get_string("sched.kind") == "CosineAnnealingLR");
    CHECK(ck.has("rng.dropout.4"));
    CHECK(ck.has("rng.default"));
    CHECK(ck.get_scalar<index_t>("progress.step") == 1);
    CHECK(ck.get_scalar<index_t>("loader.batch") == 1);
    CHECK(ck.get_string("meta.config") == "x=1\n");
}

TEST_CASE("load_training_checkpoint refuses checkpoints of another run", "[train][state]") {
    const data::Dataset d = test::blocks_dataset(24, 3);
    StateRig rig(d, config_with("sgd", "cosine", 0), 1);
    rig.steps(2);
    const io::Checkpoint ck = make_training_checkpoint(*rig.model, *rig.opt, rig.sched, rig.progress, "");

    SECTION("a model-only checkpoint") {
        StateRig other(d, config_with("sgd", "cosine", 0), 1);
        CHECK_THROWS_WITH(
            load_training_checkpoint(io::Checkpoint::from_module(*rig.model), *other.model, *other.opt, other.sched,
                                     other.progress),
            Contains("not a training checkpoint"));
    }
    SECTION("another schedule") {
        StateRig other(d, config_with("sgd", "step", 0), 1);
        CHECK_THROWS_WITH(load_training_checkpoint(ck, *other.model, *other.opt, other.sched, other.progress),
                          Contains("schedule CosineAnnealingLR") && Contains("StepLR"));
    }
    SECTION("another optimizer") {
        StateRig other(d, config_with("adam", "cosine", 0), 1);
        CHECK_THROWS_WITH(load_training_checkpoint(ck, *other.model, *other.opt, other.sched, other.progress),
                          Contains("exp_avg"));
    }
    SECTION("another model") {
        StateRig other(d, config_with("sgd", "cosine", 0), 1);
        auto model = models::make_model<float>("resnet8", models::ModelSpec().input_size(8));
        auto opt = make_opt(other.config, *model);
        auto sched = make_sched(other.config, opt->control(), 2);
        CHECK_THROWS_AS(load_training_checkpoint(ck, *model, *opt, sched, other.progress), Error);
    }
}

TEST_CASE("models::load_model reads the trained net from a training checkpoint", "[train][state][model_file]") {
    auto model = models::make_model<float>("resnet8-aux", models::ModelSpec());
    Generator gen(11);
    for (auto& np : model->named_parameters()) np.parameter->value.fill_normal(gen, 0.0, 0.3);
    for (auto& nb : model->named_buffers()) nb.buffer->fill_uniform(gen, 0.5, 1.5);
    const RunConfig c = config_with("adam", "cosine", 0);
    auto opt = make_opt(c, *model);
    optim::ScheduleDriver sched = make_sched(c, opt->control(), 10);
    const io::Checkpoint ck = io::Checkpoint::from_bytes(
        make_training_checkpoint(*model, *opt, sched, TrainProgress{}, "").to_bytes(), "last.ck");
    CHECK(ck.get_string("arch.type") == "ResNet");
    auto served = models::load_model<float>(ck);
    Tensor<float> x(Shape{2, 1, 28, 28});
    x.fill_normal(gen);
    model->eval();
    Tape t1, t2;
    const Var<float> a = (*model)(t1.constant(x)), b = (*served)(t2.constant(x));
    CHECK(std::memcmp(a.value().data(), b.value().data(), sizeof(float) * 20) == 0);
    CHECK(served->named_parameters().size() == model->named_parameters().size());  // the heads too
}
