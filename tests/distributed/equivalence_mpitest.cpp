// Data parallelism is exact: 2 ranks x batch 32 with averaged gradients take the same SGD steps as 1 process x
// batch 64, for a model whose result does not depend on per-rank batch statistics (no batch norm, or
// SyncBatchNorm). The single-process reference is computed on rank 0, which has all the data.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "strata/data/data_loader.hpp"
#include "strata/distributed/distributed.hpp"
#include "strata/nn/activation.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/nn/init.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"
#include "strata/ops/cross_entropy.hpp"
#include "strata/optim/sgd.hpp"
#include "support/fixture.hpp"

using namespace strata;
using namespace strata::distributed;

namespace {

enum class Norm { none, sync, per_rank };

constexpr index_t samples = 192, global_batch = 64, epochs = 2;
constexpr std::uint64_t data_seed = 5;

data::Dataset synthetic_dataset() {
    Generator gen(77);
    Tensor<float> images(Shape{samples, 1, 8, 8});
    images.fill_normal(gen, 0.5, 1.0);
    std::vector<index_t> labels(static_cast<std::size_t>(samples));
    for (auto& l : labels) l = static_cast<index_t>(gen.below(10));
    return data::Dataset(std::move(images), std::move(labels));
}

/// conv 3x3 -> [norm] -> relu -> maxpool 2 -> linear; `sync` picks SyncBatchNorm over `comm`, else BatchNorm2d.
std::unique_ptr<nn::Sequential<float>> make_model(Norm norm, std::uint64_t seed, Communicator comm) {
    manual_seed(seed);
    auto m = std::make_unique<nn::Sequential<float>>();
    m->emplace<nn::Conv2d<float>>(nn::Conv2dOptions(1, 4, 3).padding(1).bias(norm == Norm::none));
    if (norm == Norm::sync) m->emplace<SyncBatchNorm<float>>(nn::BatchNormOptions(4), comm);
    if (norm == Norm::per_rank) m->emplace<nn::BatchNorm2d<float>>(nn::BatchNormOptions(4));
    m->emplace<nn::ReLU<float>>();
    m->emplace<nn::MaxPool2d<float>>(nn::Pool2dOptions(2));
    m->emplace<nn::Flatten<float>>();
    m->emplace<nn::Linear<float>>(nn::LinearOptions(4 * 4 * 4, 10));
    return m;
}

optim::SGDOptions sgd_options() { return optim::SGDOptions(0.05).momentum(0.9).weight_decay(1e-3); }

/// Every rank: local batches of global_batch / size from the strided shard, averaged gradients (with `overlap`,
/// started during backward through the tape's gradient-ready hook).
std::unique_ptr<nn::Sequential<float>> train_distributed(Norm norm, const data::Dataset& d, Communicator world,
                                                         bool overlap = false) {
    // Rank 1 starts from other weights: broadcast_parameters must make them rank 0's.
    auto model = make_model(norm, 3 + static_cast<std::uint64_t>(world.rank()), world);
    broadcast_parameters(*model, world);
    optim::SGD<float> sgd(model->parameters(), sgd_options());
    Tape tape;  // before the averager, which detaches from it when destroyed
    GradientAverager<float> averager(model->parameters(), world, 1024);  // small buckets: several per step
    if (overlap) averager.overlap_backward(&tape);
    SamplerOptions so;
    so.seed = data_seed;
    DistributedSampler sampler(d.size(), world.size(), world.rank(), so);
    const index_t local_batch = global_batch / world.size();
    data::Batch batch;
    for (index_t epoch = 0; epoch < epochs; ++epoch) {
        const std::vector<index_t> mine = sampler.indices(epoch);
        for (index_t b = 0; b < sampler.num_batches(local_batch); ++b) {
            const index_t first = b * local_batch;
            gather_batch(d, mine, first, std::min(local_batch, sampler.num_samples() - first), batch, epoch, b);
            tape.rewind();
            Var<float> loss = cross_entropy((*model)(tape.constant(batch.images)), batch.labels);
            sgd.zero_grad();
            loss.backward();
            // With overlap, every bucket is in flight by the time backward returns.
            CHECK(averager.buckets_started() == (overlap ? averager.bucket_count() : 0));
            averager.average();
            sgd.step();
        }
    }
    return model;
}

/// One process, batch global_batch, from the DataLoader with the same seed (norm sync becomes BatchNorm2d).
std::unique_ptr<nn::Sequential<float>> train_reference(Norm norm, const data::Dataset& d) {
    auto model = make_model(norm == Norm::none ? Norm::none : Norm::per_rank, 3, Communicator::local());
    optim::SGD<float> sgd(model->parameters(), sgd_options());
    data::LoaderOptions lo;
    lo.batch_size = global_batch;
    lo.seed = data_seed;
    lo.prefetch = false;
    data::DataLoader loader(d, lo);
    Tape tape;
    data::Batch batch;
    for (index_t epoch = 0; epoch < epochs; ++epoch) {
        loader.set_epoch(epoch);
        while (loader.next(batch)) {
            tape.rewind();
            Var<float> loss = cross_entropy((*model)(tape.constant(batch.images)), batch.labels);
            sgd.zero_grad();
            loss.backward();
            sgd.step();
        }
    }
    return model;
}

/// The largest max_rel_diff over the parameters and buffers of two models of the same structure.
double max_state_difference(nn::Sequential<float>& a, nn::Sequential<float>& b) {
    double worst = 0;
    const auto pa = a.named_parameters(), pb = b.named_parameters();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
        const double d = test::max_rel_diff(pa[i].parameter->value, pb[i].parameter->value);
        INFO(pa[i].name << ": " << d);
        worst = std::max(worst, d);
    }
    const auto ba = a.named_buffers(), bb = b.named_buffers();
    REQUIRE(ba.size() == bb.size());
    for (std::size_t i = 0; i < ba.size(); ++i) worst = std::max(worst, test::max_rel_diff(*ba[i].buffer, *bb[i].buffer));
    return worst;
}

}  // namespace

TEST_CASE("two ranks x batch 32 end with the parameters of one process x batch 64", "[distributed][np2][equivalence]") {
    const Communicator world = Communicator::world();
    REQUIRE(world.size() == 2);
    const data::Dataset d = synthetic_dataset();
    for (Norm norm : {Norm::none, Norm::sync}) {
        INFO((norm == Norm::none ? "no batch norm" : "SyncBatchNorm"));
        auto distributed = train_distributed(norm, d, world);
        CHECK(parameters_max_difference(*distributed, world) == 0.0);  // replicas stay bit-identical
        if (world.is_root()) {
            auto reference = train_reference(norm, d);
            const double diff = max_state_difference(*distributed, *reference);
            INFO("max relative difference " << diff);
            CHECK(diff < 1e-5);
        }
    }
}

TEST_CASE("two ranks: per-rank batch norm differs from the single-process run (the check above can fail)",
          "[distributed][np2][equivalence]") {
    const Communicator world = Communicator::world();
    REQUIRE(world.size() == 2);
    const data::Dataset d = synthetic_dataset();
    auto distributed = train_distributed(Norm::per_rank, d, world);
    if (world.is_root()) {
        auto reference = train_reference(Norm::per_rank, d);
        CHECK(max_state_difference(*distributed, *reference) > 1e-3);
    }
}

TEST_CASE("two ranks: averaging overlapped with backward gives the same parameters as after it",
          "[distributed][np2][equivalence]") {
    const Communicator world = Communicator::world();
    REQUIRE(world.size() == 2);
    const data::Dataset d = synthetic_dataset();
    for (Norm norm : {Norm::none, Norm::sync}) {
        INFO((norm == Norm::none ? "no batch norm" : "SyncBatchNorm (its collectives interleave with the buckets')"));
        auto after = train_distributed(norm, d, world, false);
        auto overlapped = train_distributed(norm, d, world, true);
        CHECK(parameters_max_difference(*overlapped, world) == 0.0);
        CHECK(max_state_difference(*overlapped, *after) == 0.0);  // the same sums, bucket by bucket
        if (world.is_root()) {
            auto reference = train_reference(norm, d);
            CHECK(max_state_difference(*overlapped, *reference) < 1e-5);
        }
    }
}
