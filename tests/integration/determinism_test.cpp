// Determinism: the same seed, thread count and data give bit-identical training (issue 9). STRATA_TEST_SCALE=small
// (the sanitizer build): a shallower ResNet and fewer steps.
#include <catch2/catch.hpp>

#include <cstring>

#include "strata/data/data_loader.hpp"
#include "strata/data/mnist.hpp"
#include "strata/models/registry.hpp"
#include "strata/nn/deep_supervision.hpp"
#include "strata/optim/sgd.hpp"
#include "integration/test_scale.hpp"

using namespace strata;

namespace {
std::vector<Tensor<float>> train_steps(const data::Dataset& train, const std::string& model, int steps) {
    auto net = models::make_model<float>(model, models::ModelSpec().seed(11));
    optim::SGD<float> opt(net->parameters(), optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4));
    data::LoaderOptions lo;
    lo.batch_size = 32;
    lo.seed = 5;
    lo.augment.crop_padding = 2;
    lo.augment.horizontal_flip = true;
    data::DataLoader loader(train, lo);
    nn::DeepSupervisionLoss<float> loss;
    Tape tape;
    data::Batch batch;
    for (int s = 0; s < steps; ++s) {
        if (!loader.next(batch)) REQUIRE(loader.next(batch));
        tape.rewind();
        Var<float> l = loss(nn::forward_with_aux(*net, tape.constant(batch.images)), batch.labels);
        opt.zero_grad();
        l.backward();
        opt.step();
    }
    std::vector<Tensor<float>> state;
    for (auto* p : net->parameters()) state.push_back(p->value.clone());
    for (auto& b : net->named_buffers()) state.push_back(b.buffer->clone());
    return state;
}

bool bit_identical(const std::vector<Tensor<float>>& a, const std::vector<Tensor<float>>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].shape() != b[i].shape() ||
            std::memcmp(a[i].data(), b[i].data(), sizeof(float) * static_cast<std::size_t>(a[i].numel())) != 0)
            return false;
    return true;
}
}  // namespace

TEST_CASE("Repeated training runs with the same seed are bit-identical", "[integration][determinism]") {
    data::Dataset train = data::load_mnist(STRATA_DATA_DIR, data::Split::train).head(640);
    train.normalize(data::fashion_mnist_mean, data::fashion_mnist_std);
    const int steps = testing::scaled(8, 2);
    for (const char* model : {testing::scaled("resnet20-aux", "resnet8-aux"), "dsn"}) {
        INFO(model);
        const auto first = train_steps(train, model, steps);
        const auto second = train_steps(train, model, steps);
        CHECK(bit_identical(first, second));
    }
}
