#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include "strata/data/data_loader.hpp"
#include "strata/distributed/sampler.hpp"

using namespace strata;
using strata::distributed::DistributedSampler;
using strata::distributed::SamplerOptions;
using strata::distributed::Sharding;

namespace {

std::vector<index_t> iota_vec(index_t n, index_t start = 0) {
    std::vector<index_t> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), start);
    return v;
}

data::Dataset tiny_dataset(index_t n) {
    Tensor<float> images(Shape{n, 1, 2, 2});
    std::vector<index_t> labels(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) {
        for (index_t k = 0; k < 4; ++k) images[i * 4 + k] = static_cast<float>(i * 10 + k);
        labels[static_cast<std::size_t>(i)] = i % 10;
    }
    return data::Dataset(std::move(images), std::move(labels));
}

}  // namespace

TEST_CASE("shard pads like PyTorch's DistributedSampler (drop_last off)", "[distributed][sampler]") {
    // torch: indices = [0..9] (no shuffle), 3 replicas -> total 12, padded with [0, 1]; rank r takes [r::3].
    const std::vector<index_t> order = iota_vec(10);
    CHECK(DistributedSampler::shard(order, 3, 0) == std::vector<index_t>{0, 3, 6, 9});
    CHECK(DistributedSampler::shard(order, 3, 1) == std::vector<index_t>{1, 4, 7, 0});
    CHECK(DistributedSampler::shard(order, 3, 2) == std::vector<index_t>{2, 5, 8, 1});
    // Contiguous blocks of the padded order [0..9, 0, 1].
    CHECK(DistributedSampler::shard(order, 3, 0, false, Sharding::contiguous) == std::vector<index_t>{0, 1, 2, 3});
    CHECK(DistributedSampler::shard(order, 3, 2, false, Sharding::contiguous) == std::vector<index_t>{8, 9, 0, 1});
}

TEST_CASE("shard repeats a short order whole when the padding is longer than it", "[distributed][sampler]") {
    // torch: 2 samples, 5 replicas -> padding 3 > 2: indices * ceil(3/2) -> [0,1,0,1,0]; each rank one sample.
    const std::vector<index_t> order = {7, 4};
    std::vector<index_t> got;
    for (int r = 0; r < 5; ++r) {
        const auto s = DistributedSampler::shard(order, 5, r);
        REQUIRE(s.size() == 1);
        got.push_back(s[0]);
    }
    CHECK(got == std::vector<index_t>{7, 4, 7, 4, 7});
}

TEST_CASE("shard with drop_last truncates to a multiple of the rank count", "[distributed][sampler]") {
    const std::vector<index_t> order = iota_vec(10, 100);
    CHECK(DistributedSampler::shard(order, 3, 0, true) == std::vector<index_t>{100, 103, 106});
    CHECK(DistributedSampler::shard(order, 3, 2, true) == std::vector<index_t>{102, 105, 108});
    CHECK(DistributedSampler::shard(order, 3, 1, true, Sharding::contiguous) ==
          std::vector<index_t>{103, 104, 105});
}

TEST_CASE("the shards of all ranks cover the permutation exactly once (plus padding)", "[distributed][sampler]") {
    for (index_t n : {1, 7, 64, 101}) {
        for (int replicas : {1, 2, 3, 4}) {
            for (Sharding mode : {Sharding::strided, Sharding::contiguous}) {
                INFO("n " << n << ", replicas " << replicas << ", contiguous " << (mode == Sharding::contiguous));
                SamplerOptions opt;
                opt.seed = 42;
                opt.sharding = mode;
                std::multiset<index_t> seen;
                index_t per = -1;
                for (int r = 0; r < replicas; ++r) {
                    DistributedSampler s(n, replicas, r, opt);
                    const auto idx = s.indices(3);
                    CHECK(static_cast<index_t>(idx.size()) == s.num_samples());
                    CHECK(s.num_samples() == (n + replicas - 1) / replicas);
                    if (per >= 0) CHECK(static_cast<index_t>(idx.size()) == per);
                    per = static_cast<index_t>(idx.size());
                    seen.insert(idx.begin(), idx.end());
                }
                CHECK(static_cast<index_t>(seen.size()) == per * replicas);
                for (index_t i = 0; i < n; ++i) CHECK(seen.count(i) >= 1);
                const index_t padding = per * replicas - n;
                index_t extra = 0;
                for (index_t i = 0; i < n; ++i) extra += static_cast<index_t>(seen.count(i)) - 1;
                CHECK(extra == padding);
            }
        }
    }
}

TEST_CASE("the sampler's permutation is the DataLoader's epoch order for the same seed", "[distributed][sampler]") {
    const data::Dataset d = tiny_dataset(37);
    data::LoaderOptions lo;
    lo.seed = 1234;
    lo.prefetch = false;
    data::DataLoader loader(d, lo);
    SamplerOptions so;
    so.seed = 1234;
    DistributedSampler sampler(d.size(), 2, 0, so);
    for (index_t epoch : {0, 1, 5}) CHECK(sampler.permutation(epoch) == loader.epoch_order(epoch));
    CHECK(sampler.permutation(0) != sampler.permutation(1));  // reshuffled every epoch
    so.shuffle = false;
    CHECK(DistributedSampler(d.size(), 2, 1, so).permutation(4) == iota_vec(37));
}

TEST_CASE("strided shards of batch B/R rebuild the single-process batches of size B", "[distributed][sampler]") {
    const index_t n = 200, global_batch = 64, replicas = 2, local_batch = global_batch / replicas;
    data::Dataset d = tiny_dataset(n);
    data::LoaderOptions lo;
    lo.seed = 9;
    lo.batch_size = global_batch;
    lo.prefetch = false;
    data::DataLoader loader(d, lo);
    SamplerOptions so;
    so.seed = 9;
    std::vector<std::vector<index_t>> shards;
    for (int r = 0; r < replicas; ++r) shards.push_back(DistributedSampler(n, replicas, r, so).indices(2));
    const index_t batches = DistributedSampler(n, replicas, 0, so).num_batches(local_batch);
    REQUIRE(batches == loader.num_batches());
    for (index_t b = 0; b < batches; ++b) {
        data::Batch global;
        loader.make_batch({2, b}, global);
        std::multiset<index_t> want(global.indices.begin(), global.indices.end()), got;
        for (int r = 0; r < replicas; ++r) {
            data::Batch local;
            const index_t first = b * local_batch;
            const index_t count = std::min(local_batch, static_cast<index_t>(shards[r].size()) - first);
            distributed::gather_batch(d, shards[static_cast<std::size_t>(r)], first, count, local, 2, b);
            got.insert(local.indices.begin(), local.indices.end());
            for (index_t j = 0; j < local.size(); ++j) {  // images and labels follow the indices
                const index_t i = local.indices[static_cast<std::size_t>(j)];
                CHECK(local.images[j * 4 + 3] == static_cast<float>(i * 10 + 3));
                CHECK(local.labels[static_cast<std::size_t>(j)] == i % 10);
            }
        }
        CHECK(got == want);
    }
}

TEST_CASE("sampler arguments are validated", "[distributed][sampler]") {
    using Catch::Contains;
    CHECK_THROWS_WITH(DistributedSampler(10, 0, 0), Contains("num_replicas must be positive, got 0"));
    CHECK_THROWS_WITH(DistributedSampler(10, 2, 2), Contains("rank 2 outside [0, 2)"));
    CHECK_THROWS_WITH(DistributedSampler(10, 2, -1), Contains("rank -1 outside [0, 2)"));
    SamplerOptions drop;
    drop.drop_last = true;
    CHECK_THROWS_WITH(DistributedSampler(3, 4, 0, drop), Contains("3 samples and 4 ranks"));
    CHECK(DistributedSampler(9, 4, 3, drop).num_samples() == 2);
    CHECK(DistributedSampler(9, 4, 3).num_samples() == 3);
    CHECK(DistributedSampler(9, 4, 3).num_batches(2) == 2);
    CHECK(DistributedSampler(9, 4, 3).num_batches(2, true) == 1);
    CHECK_THROWS_WITH(DistributedSampler(9, 4, 3).num_batches(0), Contains("batch_size must be positive"));
    const data::Dataset d = tiny_dataset(5);
    data::Batch b;
    CHECK_THROWS_WITH(distributed::gather_batch(d, {0, 1}, 1, 2, b), Contains("range [1, 3) outside the 2 indices"));
    CHECK_THROWS_WITH(distributed::gather_batch(d, {0, 9}, 0, 2, b), Contains("index 9 outside the dataset of 5"));
}
