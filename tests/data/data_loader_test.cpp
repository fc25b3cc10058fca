// Tests of data/data_loader.hpp: batching, seeded shuffling, augmentation, prefetching, errors, resuming.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "strata/data/data_loader.hpp"

using namespace strata;
using namespace strata::data;
using Catch::Contains;

namespace {

// N images [C, H, W]; every pixel of image i is distinct and encodes i: i * 1000 + (c * H + y) * W + x.
Dataset indexed_dataset(index_t n, index_t c = 1, index_t h = 5, index_t w = 4) {
    Tensor<float> images(Shape{n, c, h, w});
    for (index_t i = 0; i < images.numel(); ++i)
        images[i] = static_cast<float>((i / (c * h * w)) * 1000 + i % (c * h * w));
    std::vector<index_t> labels;
    for (index_t i = 0; i < n; ++i) labels.push_back((i * 3) % 10);
    return Dataset(std::move(images), std::move(labels));
}

// All batches of one epoch (next() until it returns false).
std::vector<Batch> epoch(DataLoader& loader) {
    std::vector<Batch> out;
    Batch b;
    while (loader.next(b)) {
        Batch copy;
        copy.images = b.images.clone();
        copy.labels = b.labels;
        copy.indices = b.indices;
        copy.epoch = b.epoch;
        copy.index = b.index;
        out.push_back(std::move(copy));
    }
    return out;
}

std::vector<index_t> indices(const std::vector<Batch>& batches) {
    std::vector<index_t> all;
    for (const auto& b : batches) all.insert(all.end(), b.indices.begin(), b.indices.end());
    return all;
}

bool same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].indices != b[i].indices || a[i].labels != b[i].labels || a[i].epoch != b[i].epoch ||
            a[i].index != b[i].index || a[i].images.shape() != b[i].images.shape())
            return false;
        for (index_t j = 0; j < a[i].images.numel(); ++j)
            if (a[i].images[j] != b[i].images[j]) return false;
    }
    return true;
}

LoaderOptions options(index_t batch, bool prefetch, std::uint64_t seed = 1) {
    LoaderOptions o;
    o.batch_size = batch;
    o.prefetch = prefetch;
    o.seed = seed;
    return o;
}

}  // namespace

TEST_CASE("DataLoader batch shapes, drop_last, epoch ends", "[data][loader]") {
    const Dataset d = indexed_dataset(10, 2, 3, 3);
    for (bool prefetch : {false, true}) {
        DYNAMIC_SECTION("prefetch " << prefetch) {
            DataLoader loader(d, options(4, prefetch));
            CHECK(loader.num_batches() == 3);
            const auto batches = epoch(loader);
            REQUIRE(batches.size() == 3);
            CHECK(batches[0].images.shape() == Shape{4, 2, 3, 3});
            CHECK(batches[2].images.shape() == Shape{2, 2, 3, 3});
            CHECK(batches[2].size() == 2);
            CHECK(batches[1].index == 1);
            CHECK(loader.state() == LoaderState{1, 0});  // moved on to the next epoch
            CHECK(epoch(loader)[0].epoch == 1);

            LoaderOptions o = options(4, prefetch);
            o.drop_last = true;
            DataLoader dropping(d, o);
            CHECK(dropping.num_batches() == 2);
            const auto kept = epoch(dropping);
            REQUIRE(kept.size() == 2);
            CHECK(kept[1].images.shape() == Shape{4, 2, 3, 3});
            // Batch contents match the dataset at the reported indices.
            for (const auto& b : batches)
                for (index_t j = 0; j < b.size(); ++j) {
                    const index_t i = b.indices[static_cast<std::size_t>(j)];
                    CHECK(b.labels[static_cast<std::size_t>(j)] == d.labels()[static_cast<std::size_t>(i)]);
                    CHECK(b.images[j * 18 + 17] == d.image(i)[17]);
                }
        }
    }
    CHECK_THROWS_WITH(DataLoader(d, options(0, true)), Contains("batch_size") && Contains("got 0"));
    LoaderOptions bad = options(2, true);
    bad.augment.crop_padding = -2;
    CHECK_THROWS_AS(DataLoader(d, bad), ArgumentError);
    // An empty dataset has no batches.
    const Dataset empty = indexed_dataset(0);
    DataLoader none(empty, options(3, true));
    Batch b;
    CHECK_FALSE(none.next(b));
    CHECK(none.state() == LoaderState{1, 0});
}

TEST_CASE("DataLoader visits every index exactly once per epoch; shuffles are seeded", "[data][loader]") {
    const Dataset d = indexed_dataset(103);
    DataLoader loader(d, options(10, true, 42));
    const auto e0 = indices(epoch(loader)), e1 = indices(epoch(loader));
    std::vector<index_t> sorted0 = e0, sorted1 = e1, all(103);
    std::sort(sorted0.begin(), sorted0.end());
    std::sort(sorted1.begin(), sorted1.end());
    for (index_t i = 0; i < 103; ++i) all[static_cast<std::size_t>(i)] = i;
    CHECK(sorted0 == all);
    CHECK(sorted1 == all);
    CHECK(e0 != e1);   // a new order each epoch
    CHECK(e0 != all);  // actually shuffled
    CHECK(e0 == loader.epoch_order(0));

    DataLoader again(d, options(10, false, 42));
    CHECK(indices(epoch(again)) == e0);
    DataLoader other(d, options(10, true, 43));
    CHECK(indices(epoch(other)) != e0);
    LoaderOptions ordered = options(10, true, 42);
    ordered.shuffle = false;
    DataLoader in_order(d, ordered);
    CHECK(indices(epoch(in_order)) == all);
}

TEST_CASE("DataLoader augmentation is seeded and the same with or without prefetching", "[data][loader]") {
    Dataset d = indexed_dataset(37, 2, 6, 5);
    d.normalize({10.0f, 20.0f}, {2.0f, 4.0f});  // padding fill is a raw 0: -5 and -5
    LoaderOptions o = options(8, false, 7);
    o.augment.crop_padding = 2;
    o.augment.max_translation = 1;
    o.augment.horizontal_flip = true;
    DataLoader plain(d, o);
    o.prefetch = true;
    DataLoader fetched(d, o), fetched_again(d, o);
    for (int e = 0; e < 2; ++e) {
        const auto a = epoch(plain), b = epoch(fetched), c = epoch(fetched_again);
        CHECK(same(a, b));
        CHECK(same(b, c));
        // The augmentation did something, and padding took the fill value.
        int changed = 0, filled = 0;
        for (const auto& batch : a)
            for (index_t j = 0; j < batch.size(); ++j) {
                const float* src = d.image(batch.indices[static_cast<std::size_t>(j)]);
                const float* out = batch.images.data() + j * 60;
                changed += !std::equal(out, out + 60, src);
                filled += std::count(out, out + 60, -5.0f) > 0;
            }
        CHECK(changed > 20);
        CHECK(filled > 10);
    }
    // A different seed augments differently.
    o.seed = 8;
    DataLoader other(d, o);
    other.set_epoch(1);
    fetched.set_epoch(1);
    CHECK_FALSE(same(epoch(other), epoch(fetched)));
}

TEST_CASE("DataLoader state resumes at the same batch", "[data][loader]") {
    const Dataset d = indexed_dataset(50);
    LoaderOptions o = options(6, true, 3);
    o.augment.horizontal_flip = true;
    o.augment.crop_padding = 1;
    DataLoader original(d, o);
    epoch(original);
    Batch b;
    for (int i = 0; i < 4; ++i) original.next(b);
    const LoaderState saved = original.state();
    CHECK(saved == LoaderState{1, 4});
    const auto rest = epoch(original);
    const auto next_epoch = epoch(original);
    for (bool prefetch : {true, false}) {
        o.prefetch = prefetch;
        DataLoader resumed(d, o);
        resumed.set_state(saved);
        CHECK(same(epoch(resumed), rest));
        CHECK(same(epoch(resumed), next_epoch));
    }
    o.prefetch = true;
    // Jumping around while the loader thread runs (busy with the next batch, or done with it when we settle):
    // every batch still matches make_batch.
    for (bool settle : {false, true}) {
        DataLoader jumpy(d, o);
        Batch direct;
        for (LoaderState s : {LoaderState{0, 3}, LoaderState{5, 0}, LoaderState{5, 0}, LoaderState{2, 8},
                              LoaderState{2, 7}, LoaderState{2, 8}}) {
            jumpy.set_state(s);
            REQUIRE(jumpy.next(b));
            jumpy.make_batch(s, direct);
            CHECK((b.epoch == s.epoch && b.index == s.batch));
            CHECK(b.indices == direct.indices);
            CHECK((b.images.array() == direct.images.array()).all());
            if (settle) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    // Away and back while the loader thread is still building the batch we come back to.
    LoaderOptions slow = o;
    slow.transform = [](Batch&) { std::this_thread::sleep_for(std::chrono::milliseconds(20)); };
    DataLoader back(d, slow);
    REQUIRE(back.next(b));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the loader thread is building batch 1
    back.set_state({3, 0});
    back.set_state({0, 1});
    REQUIRE(back.next(b));
    CHECK((b.epoch == 0 && b.index == 1));
    REQUIRE(back.next(b));
    CHECK((b.epoch == 0 && b.index == 2));

    DataLoader jumpy(d, o);
    jumpy.set_state({2, 9});  // the end of epoch 2
    CHECK_FALSE(jumpy.next(b));
    REQUIRE(jumpy.next(b));
    CHECK((b.epoch == 3 && b.index == 0));
    CHECK_THROWS_WITH(jumpy.set_state({0, 10}), Contains("batch 10") && Contains("[0, 9]"));
    CHECK_THROWS_AS(jumpy.set_state({-1, 0}), ArgumentError);
}

TEST_CASE("DataLoader rethrows loader exceptions in the consumer", "[data][loader]") {
    const Dataset d = indexed_dataset(20);
    for (bool prefetch : {false, true}) {
        DYNAMIC_SECTION("prefetch " << prefetch) {
            std::atomic<bool> fail{true};
            LoaderOptions o = options(4, prefetch);
            o.transform = [&fail](Batch& b) {
                if (b.index == 2 && fail) throw std::runtime_error("decoder broke on batch 2");
            };
            DataLoader loader(d, o);
            Batch b;
            CHECK(loader.next(b));
            CHECK(loader.next(b));
            CHECK_THROWS_WITH(loader.next(b), Contains("decoder broke on batch 2"));
            CHECK(loader.state() == LoaderState{0, 2});
            CHECK_THROWS_AS(loader.next(b), std::runtime_error);  // still failing: thrown again
            fail = false;
            REQUIRE(loader.next(b));
            CHECK(b.index == 2);
            CHECK(loader.next(b));
            CHECK(loader.next(b));
            CHECK_FALSE(loader.next(b));
        }
    }
}

TEST_CASE("DataLoader builds the next batch in the background while the caller works", "[data][loader]") {
    using namespace std::chrono_literals;
    const Dataset d = indexed_dataset(40);
    for (bool prefetch : {true, false}) {
        LoaderOptions o = options(4, prefetch);
        std::atomic<index_t> highest_built{-1};
        o.transform = [&highest_built](Batch& b) { highest_built = std::max<index_t>(highest_built, b.index); };
        DataLoader loader(d, o);
        Batch b;
        REQUIRE(loader.next(b));
        REQUIRE(b.index == 0);
        // Without asking for it, batch 1 appears with prefetching (give the thread up to 5 s) and never without.
        for (int i = 0; i < 500 && highest_built < 1 && prefetch; ++i) std::this_thread::sleep_for(10ms);
        if (!prefetch) std::this_thread::sleep_for(50ms);
        INFO("prefetch " << prefetch);
        CHECK(highest_built == (prefetch ? 1 : 0));
        REQUIRE(loader.next(b));
        CHECK(b.index == 1);
    }
}

TEST_CASE("DataLoader shuts down cleanly while the loader thread is busy", "[data][loader]") {
    using namespace std::chrono_literals;
    const Dataset d = indexed_dataset(12);
    std::atomic<int> built{0};
    LoaderOptions o = options(3, true);
    o.transform = [&built](Batch&) {
        std::this_thread::sleep_for(30ms);
        ++built;
    };
    {
        DataLoader loader(d, o);
        Batch b;
        REQUIRE(loader.next(b));
    }  // the destructor waits for the batch in progress, then joins
    CHECK(built >= 1);
    CHECK(built <= 2);
    {
        DataLoader unused(d, o);  // never started: nothing to join
    }
    CHECK(built <= 2);
}

TEST_CASE("LoaderOptions chains setters and still takes fields and aggregate initialisation", "[data][loader]") {
    Augmentation aug;
    aug.horizontal_flip = true;
    int calls = 0;
    const LoaderOptions chained = LoaderOptions()
                                      .set_batch_size(3)
                                      .set_shuffle(false)
                                      .set_drop_last(true)
                                      .set_seed(9)
                                      .set_augment(aug)
                                      .set_prefetch(false)
                                      .set_transform([&](Batch&) { ++calls; });
    CHECK(chained.batch_size == 3);
    CHECK_FALSE(chained.shuffle);
    CHECK(chained.drop_last);
    CHECK(chained.seed == 9);
    CHECK(chained.augment.horizontal_flip);
    CHECK_FALSE(chained.prefetch);
    const LoaderOptions aggregate{3, false, true, 9, Augmentation{}, true, {}};  // the field order is API
    CHECK(aggregate.batch_size == 3);
    CHECK(aggregate.drop_last);
    CHECK(aggregate.seed == 9);
    const Dataset d = indexed_dataset(10);
    DataLoader loader(d, chained);
    const auto batches = epoch(loader);
    REQUIRE(batches.size() == 3);  // drop_last: 10 / 3
    CHECK(indices(batches) == std::vector<index_t>{0, 1, 2, 3, 4, 5, 6, 7, 8});  // no shuffle
    CHECK(calls == 3);
}
