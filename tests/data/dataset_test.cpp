// Tests of data/dataset.hpp: construction checks, per-channel normalisation, slicing.

#include <catch2/catch.hpp>

#include "strata/data/dataset.hpp"

using namespace strata;
using Catch::Contains;

namespace {
// N images [C, H, W] whose element (n, c, y, x) is n + c / 10 + (y * W + x) / 100, labels n % classes.
data::Dataset graded_dataset(index_t n, index_t c, index_t h, index_t w, index_t classes = 10) {
    Tensor<float> images(Shape{n, c, h, w});
    for (index_t i = 0; i < n; ++i)
        for (index_t k = 0; k < c; ++k)
            for (index_t j = 0; j < h * w; ++j)
                images[((i * c) + k) * h * w + j] = static_cast<float>(i + 0.1 * k + 0.01 * j);
    std::vector<index_t> labels;
    for (index_t i = 0; i < n; ++i) labels.push_back(i % classes);
    return data::Dataset(std::move(images), std::move(labels), classes);
}
}  // namespace

TEST_CASE("Dataset checks its images and labels", "[data][dataset]") {
    const data::Dataset d = graded_dataset(5, 3, 2, 4);
    CHECK(d.size() == 5);
    CHECK(d.channels() == 3);
    CHECK(d.height() == 2);
    CHECK(d.width() == 4);
    CHECK(d.image_numel() == 24);
    CHECK(d.image(2)[0] == 2.0f);
    CHECK_FALSE(d.normalized());
    CHECK_THROWS_WITH(data::Dataset(Tensor<float>(Shape{4, 28, 28}), std::vector<index_t>(4)),
                      Contains("[N, C, H, W]") && Contains("[4, 28, 28]"));
    CHECK_THROWS_AS(data::Dataset(Tensor<float>(Shape{4, 1, 2, 2}), std::vector<index_t>(3)), ShapeError);
    CHECK_THROWS_WITH(data::Dataset(Tensor<float>(Shape{4, 1, 2, 2}), std::vector<index_t>(3)),
                      Contains("4 images") && Contains("3 labels"));
    CHECK_THROWS_WITH(data::Dataset(Tensor<float>(Shape{2, 1, 2, 2}), {0, 10}),
                      Contains("label 10 of sample 1") && Contains("[0, 10)"));
    CHECK_THROWS_AS(data::Dataset(Tensor<float>(Shape{2, 1, 2, 2}), {-1, 0}), ArgumentError);
    CHECK_NOTHROW(data::Dataset(Tensor<float>(Shape{2, 1, 2, 2}), {0, 99}, 100));
}

TEST_CASE("Dataset::normalize maps each channel to (x - mean) / std", "[data][dataset]") {
    data::Dataset d = graded_dataset(3, 2, 2, 2);
    d.normalize({0.5f, -1.0f}, {2.0f, 0.25f});
    CHECK(d.normalized());
    for (index_t i = 0; i < 3; ++i)
        for (index_t j = 0; j < 4; ++j) {
            const float x0 = static_cast<float>(i + 0.01 * j), x1 = static_cast<float>(i + 0.1 + 0.01 * j);
            CHECK(d.images().at(i, 0, j / 2, j % 2) == Approx((x0 - 0.5f) / 2.0f));
            CHECK(d.images().at(i, 1, j / 2, j % 2) == Approx((x1 + 1.0f) / 0.25f));
        }
    CHECK(d.zero_value() == std::vector<float>{-0.25f, 4.0f});
    CHECK_THROWS_WITH(d.normalize(0.0f, 1.0f), Contains("already normalised"));

    data::Dataset g = graded_dataset(2, 1, 3, 3);
    CHECK(g.zero_value() == std::vector<float>{0.0f});
    g.normalize(data::fashion_mnist_mean, data::fashion_mnist_std);
    CHECK(g.images()[0] == Approx((0.0f - 0.2860f) / 0.3530f));
    CHECK(g.mean() == std::vector<float>{0.2860f});
    CHECK(g.stddev() == std::vector<float>{0.3530f});
    // One value for every channel.
    data::Dataset rgb = graded_dataset(1, 3, 1, 1);
    rgb.normalize(0.1f, 0.5f);
    CHECK(rgb.images()[2] == Approx((0.2f - 0.1f) / 0.5f));

    data::Dataset bad = graded_dataset(1, 3, 1, 1);
    CHECK_THROWS_AS(bad.normalize({0.1f, 0.2f}, {1.0f, 1.0f, 1.0f}), ArgumentError);
    CHECK_THROWS_WITH(bad.normalize({0.1f, 0.2f}, {1.0f, 1.0f, 1.0f}),
                      Contains("3 channels") && Contains("got 2 and 3"));
    CHECK_THROWS_WITH(bad.normalize(data::cifar10_mean, {1.0f, 0.0f, 1.0f}),
                      Contains("std of channel 1") && Contains("> 0"));
}

TEST_CASE("Dataset head, subset, select and class_counts copy the right samples", "[data][dataset]") {
    data::Dataset d = graded_dataset(7, 2, 3, 1, 3);
    const data::Dataset h = d.head(4);
    REQUIRE(h.images().shape() == Shape{4, 2, 3, 1});
    CHECK(h.labels() == std::vector<index_t>{0, 1, 2, 0});
    CHECK(h.image(3)[0] == 3.0f);
    CHECK(d.subset(100).size() == 7);
    CHECK(d.subset(-1).size() == 7);
    CHECK(d.subset(2).size() == 2);
    CHECK(d.head(0).size() == 0);
    CHECK_THROWS_WITH(d.head(8), Contains("n = 8") && Contains("[0, 7]"));
    CHECK_THROWS_AS(d.head(-1), ArgumentError);

    const data::Dataset s = d.select({6, 1, 6});
    CHECK(s.labels() == std::vector<index_t>{0, 1, 0});
    CHECK(s.image(0)[5] == d.image(6)[5]);
    CHECK(s.image(1)[4] == d.image(1)[4]);
    CHECK_THROWS_WITH(d.select({0, 7}), Contains("index 7") && Contains("7 samples"));
    CHECK(d.class_counts() == std::vector<index_t>{3, 2, 2});

    // Copies are independent, and carry the normalisation.
    d.normalize(1.0f, 2.0f);
    const data::Dataset c = d.clone();
    CHECK(c.normalized());
    CHECK(c.mean() == d.mean());
    CHECK(c.images()[9] == d.images()[9]);
    CHECK(h.image(3)[0] == 3.0f);  // the earlier copy did not change
}
