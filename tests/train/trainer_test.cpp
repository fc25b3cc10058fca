// Tests of train/trainer.hpp and train/evaluate.hpp for a scalar type other than float: a Trainer<double> with an
// optimizer picked by name learns the synthetic blocks, and evaluate() measures a double model.

#include <catch2/catch.hpp>

#include "strata/nn/activation.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"
#include "strata/optim/any_optimizer.hpp"
#include "strata/train/evaluate.hpp"
#include "strata/train/trainer.hpp"
#include "train_test_util.hpp"

using namespace strata;

TEST_CASE("Trainer<double> steps a double model and evaluate() measures it", "[train][trainer]") {
    manual_seed(3);
    nn::Sequential<double> net;
    net.emplace<nn::Flatten<double>>();
    net.emplace<nn::Linear<double>>(nn::LinearOptions(64, 10));
    const data::Dataset d = test::blocks_dataset(80, 5);
    auto opt = optim::make_optimizer<double>(optim::OptimizerSpec("sgd").lr(0.2).momentum(0.9),
                                             optim::split_weight_decay(net.named_parameters()));
    optim::ScheduleDriver none;
    train::Trainer<double> trainer(net, *opt, none);
    Tape tape;
    const train::Evaluation before = train::evaluate(net, d, 40, tape);
    CHECK(before.samples == 80);
    data::LoaderOptions lo;
    lo.batch_size = 20;
    data::DataLoader loader(d, lo);
    data::Batch b;
    train::StepResult last;
    for (int epoch = 0; epoch < 5; ++epoch) {
        while (loader.next(b)) last = trainer.step(b);
    }
    CHECK(last.samples == 20);
    const train::Evaluation after = train::evaluate(net, d, 40, tape);
    CHECK(after.loss < before.loss / 4);
    CHECK(after.accuracy > 0.9);
    CHECK_THROWS_AS(train::Trainer<double>(net, *opt, none, {}, -1.0), ArgumentError);
}
