// Deeply-supervised nets train (issue 4): the DSN and a ResNet-18 with auxiliary heads reach a loss far below
// chance on a Fashion-MNIST subset within a few hundred steps. Reduced widths keep the test well under a minute.
#include <catch2/catch.hpp>

#include "strata/data/data_loader.hpp"
#include "strata/data/mnist.hpp"
#include "strata/models/dsn.hpp"
#include "strata/models/resnet.hpp"
#include "strata/optim/sgd.hpp"
#include "strata/train/evaluate.hpp"

using namespace strata;

namespace {
struct Run {
    double first_loss = 0;  ///< main loss of the first step
    double last_loss = 0;   ///< mean main loss of the last 10 steps
    double test_accuracy = 0;
};

Run train_subset(nn::Module<float>& net, nn::DeepSupervisionLoss<float>& loss, int epochs) {
    data::Dataset all = data::load_mnist(STRATA_DATA_DIR, data::Split::train).head(1500);
    all.normalize({data::fashion_mnist_mean}, {data::fashion_mnist_std});
    data::Dataset test = data::load_mnist(STRATA_DATA_DIR, data::Split::test).head(500);
    test.normalize({data::fashion_mnist_mean}, {data::fashion_mnist_std});
    optim::SGD<float> opt(net.parameters(), optim::SGDOptions(0.05).momentum(0.9));
    data::LoaderOptions lo;
    lo.batch_size = 50;
    lo.seed = 3;
    data::DataLoader loader(all, lo);
    Tape tape;
    data::Batch batch;
    std::vector<double> losses;
    for (int e = 0; e < epochs; ++e)
        while (loader.next(batch)) {
            tape.rewind();
            Var<float> l = loss(nn::forward_with_aux(net, tape.constant(batch.images)), batch.labels,
                                static_cast<double>(e));
            REQUIRE(loss.parts().aux.size() == 2);  // both heads contribute in training
            losses.push_back(loss.parts().main);
            opt.zero_grad();
            l.backward();
            opt.step();
        }
    Run r;
    r.first_loss = losses.front();
    for (std::size_t i = losses.size() - 10; i < losses.size(); ++i) r.last_loss += losses[i] / 10;
    r.test_accuracy = train::evaluate(net, test, 250, tape).accuracy;
    return r;
}
}  // namespace

TEST_CASE("A deeply-supervised net trains well below chance", "[integration][aux][dsn]") {
    auto net = models::dsn<float>(models::DsnOptions().widths({8, 16, 32}).seed(2));
    nn::DeepSupervisionLoss<float> loss(models::dsn_loss_options(4.0));  // companions fade out over 4 epochs
    const Run r = train_subset(*net, loss, 4);
    WARN("DSN squared-hinge loss " << r.first_loss << " -> " << r.last_loss << ", test accuracy " << r.test_accuracy);
    CHECK(r.last_loss < 0.3 * r.first_loss);
    CHECK(r.test_accuracy > 0.45);  // chance: 0.1 (measured: 0.56)
}

TEST_CASE("ResNet-18 with auxiliary heads trains well below chance", "[integration][aux][resnet]") {
    auto net = models::resnet18<float>(models::ResNetOptions()
                                           .in_channels(1)
                                           .num_classes(10)
                                           .widths({8, 16, 32, 64})
                                           .aux_after({1, 2})
                                           .input_size(28)
                                           .seed(2));
    nn::DeepSupervisionLoss<float> loss;  // GoogLeNet's constant 0.3
    const Run r = train_subset(*net, loss, 4);
    WARN("ResNet-18-aux cross-entropy " << r.first_loss << " -> " << r.last_loss << ", test accuracy "
                                        << r.test_accuracy);
    CHECK(r.last_loss < 1.0);  // chance: ln 10 = 2.30
    CHECK(r.test_accuracy > 0.6);
}
