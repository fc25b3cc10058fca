#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "strata/distributed/gradient_averager.hpp"

using namespace strata;
using strata::distributed::Communicator;
using strata::distributed::GradientAverager;

namespace {

/// Parameters of sizes `numels`, gradient element i of parameter k = base * (k + 1) + i.
std::vector<std::unique_ptr<Parameter<float>>> make_params(const std::vector<index_t>& numels, float base) {
    std::vector<std::unique_ptr<Parameter<float>>> out;
    for (std::size_t k = 0; k < numels.size(); ++k) {
        out.push_back(std::make_unique<Parameter<float>>(Tensor<float>(Shape{numels[k]}, 0.f)));
        for (index_t i = 0; i < numels[k]; ++i)
            out.back()->grad()[i] = base * static_cast<float>(k + 1) + static_cast<float>(i);
    }
    return out;
}

std::vector<Parameter<float>*> pointers(const std::vector<std::unique_ptr<Parameter<float>>>& ps) {
    std::vector<Parameter<float>*> out;
    for (const auto& p : ps) out.push_back(p.get());
    return out;
}

}  // namespace

TEST_CASE("plan_buckets fills buckets up to the byte cap; a large parameter gets its own", "[distributed][bucket]") {
    using strata::distributed::detail::plan_buckets;
    // 4-byte elements, 100-byte buckets: 40 | 80 + 20 | 400 (alone) | 12; the empty parameter is skipped.
    const auto b = plan_buckets({10, 20, 5, 100, 0, 3}, 4, 100);
    REQUIRE(b.size() == 4);
    CHECK(b[0] == std::vector<std::size_t>{0});
    CHECK(b[1] == std::vector<std::size_t>{1, 2});
    CHECK(b[2] == std::vector<std::size_t>{3});
    CHECK(b[3] == std::vector<std::size_t>{5});
    CHECK(plan_buckets({10, 20, 5}, 4, std::size_t{25} << 20).size() == 1);
    CHECK(plan_buckets({}, 4, 100).empty());
}

TEST_CASE("buckets pack the gradients in reverse registration order and unpack them scaled", "[distributed][bucket]") {
    auto params = make_params({3, 2, 4, 1}, 100.f);
    params[1]->requires_grad = false;  // frozen: not averaged
    // 16-byte buckets (4 floats): reverse order is p3 (1), p2 (4), p0 (3): [p3] + [p2] overflows -> [p3], [p2], [p0].
    GradientAverager<float> avg(pointers(params), Communicator::local(), 16);
    REQUIRE(avg.bucket_count() == 3);
    CHECK(avg.bucket_parameters(0) == std::vector<Parameter<float>*>{params[3].get()});
    CHECK(avg.bucket_parameters(1) == std::vector<Parameter<float>*>{params[2].get()});
    CHECK(avg.bucket_parameters(2) == std::vector<Parameter<float>*>{params[0].get()});
    CHECK(avg.bucket_numel(1) == 4);

    GradientAverager<float> one(pointers(params), Communicator::local());  // the default 25 MB: one bucket
    REQUIRE(one.bucket_count() == 1);
    CHECK(one.bucket_numel(0) == 8);
    const std::vector<float> packed = one.pack_bucket(0);
    CHECK(packed == std::vector<float>{400, 300, 301, 302, 303, 100, 101, 102});
    std::vector<float>& buffer = one.pack_bucket(0);
    for (float& v : buffer) v += 2.f;  // as if the other rank had contributed 2 everywhere
    one.unpack_bucket(0, 0.5f);
    CHECK(params[0]->grad()[2] == Approx((102.f + 2.f) * 0.5f));
    CHECK(params[2]->grad()[0] == Approx((300.f + 2.f) * 0.5f));
    CHECK(params[3]->grad()[0] == Approx((400.f + 2.f) * 0.5f));
    CHECK(params[1]->grad()[0] == 200.f);  // frozen, untouched
}

TEST_CASE("average() with one rank leaves the gradients unchanged", "[distributed][bucket]") {
    auto params = make_params({5, 7}, 10.f);
    GradientAverager<float> avg(pointers(params), Communicator::world(), 8);
    avg.average();
    avg.average();
    CHECK(params[0]->grad()[4] == 14.f);
    CHECK(params[1]->grad()[6] == 26.f);
    CHECK(avg.calls() == 2);
    CHECK(avg.seconds() >= 0.0);
}

TEST_CASE("GradientAverager validates its arguments", "[distributed][bucket]") {
    using Catch::Contains;
    auto params = make_params({2}, 1.f);
    CHECK_THROWS_WITH(GradientAverager<float>(pointers(params), Communicator::local(), 0),
                      Contains("bucket_bytes must be positive"));
    std::vector<Parameter<float>*> with_null = {params[0].get(), nullptr};
    CHECK_THROWS_WITH(GradientAverager<float>(with_null, Communicator::local()), Contains("parameter 1 is null"));
    params[0]->grad() = Tensor<float>(Shape{3});
    CHECK_THROWS_WITH(GradientAverager<float>(pointers(params), Communicator::local()),
                      Contains("gradient of shape [3] but a value of shape [2]"));
}

TEST_CASE("two ranks: average() replaces each gradient by the mean over the ranks", "[distributed][np2]") {
    const Communicator world = Communicator::world();
    REQUIRE(world.size() == 2);
    const float base = world.rank() == 0 ? 10.f : 30.f;  // mean 20
    auto params = make_params({1000, 3, 50000, 7, 900}, base);
    params[3]->requires_grad = false;
    // 4096-byte buckets, filled in reverse order: [p4 (3600 B)], [p2 (200000 B, alone)], [p1 + p0 (4012 B)].
    GradientAverager<float> avg(pointers(params), world, 4096);
    REQUIRE(avg.bucket_count() == 3);
    CHECK(avg.bucket_parameters(2) == std::vector<Parameter<float>*>{params[1].get(), params[0].get()});
    avg.average();
    for (std::size_t k : {0, 1, 2, 4})
        for (index_t i = 0; i < params[k]->numel(); i += 97)
            CHECK(params[k]->grad()[i] == 20.f * static_cast<float>(k + 1) + static_cast<float>(i));
    CHECK(params[3]->grad()[0] == base * 4.f);  // frozen: left out, still this rank's own value
}

TEST_CASE("two ranks: parameter lists that differ are refused on every rank", "[distributed][np2]") {
    const Communicator world = Communicator::world();
    REQUIRE(world.size() == 2);
    auto params = make_params(world.rank() == 0 ? std::vector<index_t>{4, 4} : std::vector<index_t>{4, 5}, 1.f);
    CHECK_THROWS_WITH(GradientAverager<float>(pointers(params), world),
                      Catch::Contains("the ranks' parameter lists differ"));
}
