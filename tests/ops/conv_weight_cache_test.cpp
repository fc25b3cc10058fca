// ConvWeightCache: a convolution's packed weights kept between inference calls. The cached result must equal the
// uncached one bit for bit, and every way of changing the weight (its mutable accessors, an optimizer step, a
// new tensor moved in), the input's geometry or the kernel family must rebuild it.

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "op_test_util.hpp"
#include "strata/models/registry.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/ops/conv2d_affine.hpp"
#include "strata/ops/sum.hpp"
#include "strata/optim/sgd.hpp"
#include "support/isa_scope.hpp"

using namespace strata;
using strata::test::random_tensor;

namespace {

/// conv2d(x, w, b) without recording, with or without `cache`, copied out.
template <class T>
std::vector<T> infer(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Conv2dParams p,
                     ConvWeightCache<strata::detail::identity_t<T>>* cache) {
    Tape tape;
    NoGradGuard off(tape);
    const Var<T> y = conv2d(tape.constant(x), tape.constant(w), tape.constant(b), p, cache);
    return std::vector<T>(y.value().data(), y.value().data() + y.numel());
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class T>
Tensor<T> random_as(const Shape& shape, std::uint64_t seed) {
    return random_tensor(shape, seed).template cast<T>();
}

template <class T>
void check_cache_follows_changes() {
    Tensor<T> w = random_as<T>({6, 3, 3, 3}, 1);
    const Tensor<T> b = random_as<T>({6}, 2), x = random_as<T>({5, 3, 9, 8}, 3), small = random_as<T>({40, 3, 2, 2}, 4);
    ConvWeightCache<T> cache(w);
    const bool packs = active_isa() != Isa::generic;  // the generic kernels have no packed form to keep
    const std::uint64_t per_fill = packs ? 1 : 0;

    CHECK(same_bits(infer(x, w, b, {1, 1}, &cache), infer(x, w, b, {1, 1}, nullptr)));
    CHECK(cache.fills() == per_fill);
    CHECK(same_bits(infer(x, w, b, {1, 1}, &cache), infer(x, w, b, {1, 1}, nullptr)));
    CHECK(cache.fills() == per_fill);  // same weight, same geometry: reused

    w.data()[5] += T(0.5);  // a write through the mutable accessor
    CHECK(same_bits(infer(x, w, b, {1, 1}, &cache), infer(x, w, b, {1, 1}, nullptr)));
    CHECK(cache.fills() == 2 * per_fill);
    w[7] = T(-1);
    CHECK(same_bits(infer(x, w, b, {1, 1}, &cache), infer(x, w, b, {1, 1}, nullptr)));
    w.fill(T(0.25));
    CHECK(same_bits(infer(x, w, b, {1, 1}, &cache), infer(x, w, b, {1, 1}, nullptr)));
    w.copy_from(random_as<T>({6, 3, 3, 3}, 5).view());
    CHECK(same_bits(infer(x, w, b, {1, 1}, &cache), infer(x, w, b, {1, 1}, nullptr)));
    w.array() *= T(2);
    CHECK(same_bits(infer(x, w, b, {1, 1}, &cache), infer(x, w, b, {1, 1}, nullptr)));
    CHECK(cache.fills() == 6 * per_fill);

    // Another geometry (2x2 maps: every position reads real input through only 4 of the 9 taps, so inference
    // runs one GEMM per tap class), another stride: repacked, and back again.
    CHECK(same_bits(infer(small, w, b, {1, 1}, &cache), infer(small, w, b, {1, 1}, nullptr)));
    CHECK(same_bits(infer(x, w, b, {2, 1}, &cache), infer(x, w, b, {2, 1}, nullptr)));
    CHECK(same_bits(infer(x, w, b, {1, 1}, &cache), infer(x, w, b, {1, 1}, nullptr)));
    CHECK(cache.fills() == 9 * per_fill);

    // A new tensor moved into the weight's place: new storage, so repacked even at an equal version.
    w = random_as<T>({6, 3, 3, 3}, 6);
    CHECK(same_bits(infer(x, w, b, {1, 1}, &cache), infer(x, w, b, {1, 1}, nullptr)));
    CHECK(cache.fills() == 10 * per_fill);
}

}  // namespace

TEST_CASE("Tensor's stamp: the version counts mutable accesses, the storage id is the allocation's",
          "[core][tensor]") {
    Tensor<float> t(Shape{2, 3});
    const Tensor<float>& ct = t;
    const auto v0 = t.version();
    (void)ct.data(), (void)ct[1], (void)ct.at(1, 2), (void)ct.view(), (void)ct.array(), (void)ct.matrix();
    CHECK(t.version() == v0);  // const access is no change
    (void)t.data();
    CHECK(t.version() == v0 + 1);
    t[0] = 1.0f;
    t.at(1, 1) = 2.0f;
    t.array() += 1.0f;
    t.matrix()(0, 0) = 3.0f;
    t.fill(1.0f);
    t.reshape(Shape{3, 2});
    t.mark_modified();
    CHECK(t.version() == v0 + 8);

    const auto id = t.storage_id();
    CHECK(id != 0);
    CHECK(t.clone().storage_id() != id);
    CHECK(Tensor<float>(Shape{2, 3}).storage_id() != id);
    Tensor<float> moved(std::move(t));
    CHECK(moved.storage_id() == id);
    CHECK(moved.version() == v0 + 8);
    CHECK(t.storage_id() == 0);  // NOLINT(bugprone-use-after-move): a moved-from tensor is empty
    CHECK(t.empty());
}

TEST_CASE("Binding a parameter to a tape does not count as changing it", "[core][tensor][autograd]") {
    Parameter<float> p(Tensor<float>(Shape{4}));
    const auto value_version = p.value.version(), grad_version = p.grad().version();
    Tape tape;
    (void)tape.parameter(p);
    NoGradGuard off(tape);
    (void)tape.parameter(p);
    CHECK(p.value.version() == value_version);
    CHECK(p.grad().version() == grad_version);
}

TEST_CASE("conv2d with a weight cache equals conv2d without, and repacks on every change", "[ops][conv2d][cache]") {
    for (const Isa isa : test::available_isas()) {
        test::IsaScope scope(isa);
        INFO("isa " << isa_name(isa));
        check_cache_follows_changes<float>();
        check_cache_follows_changes<double>();
    }
}

TEST_CASE("A weight cache is refilled when the kernel family changes", "[ops][conv2d][cache]") {
    const std::vector<Isa> isas = test::available_isas();
    const Tensor<double> w = random_tensor({4, 2, 3, 3}, 11), b = random_tensor({4}, 12);
    const Tensor<double> x = random_tensor({3, 2, 6, 6}, 13);
    ConvWeightCache<double> cache(w);
    // The portable path packs nothing; a kernel family refills the cache only when it was filled for another one
    // (on a machine with a single family, AVX2 only, the second round finds its packing still there).
    std::uint64_t expected_fills = 0;
    Isa filled_for = Isa::generic;
    for (int round = 0; round < 2; ++round)
        for (const Isa isa : isas) {
            test::IsaScope scope(isa);
            INFO("isa " << isa_name(isa) << ", round " << round);
            CHECK(same_bits(infer(x, w, b, {1, 1}, &cache), infer(x, w, b, {1, 1}, nullptr)));
            if (isa != Isa::generic && isa != filled_for) {
                ++expected_fills;
                filled_for = isa;
            }
            CHECK(cache.fills() == expected_fills);
        }
}

TEST_CASE("A recording conv2d never uses the weight cache", "[ops][conv2d][cache]") {
    const Tensor<double> w = random_tensor({4, 2, 3, 3}, 21), x = random_tensor({2, 2, 5, 5}, 22);
    ConvWeightCache<double> cache(w);
    Tape tape;
    Var<double> xv = tape.variable(x);
    const Var<double> y = conv2d(xv, tape.constant(w), Var<double>(), {1, 1}, &cache);
    sum(y).backward();
    CHECK(cache.fills() == 0);
    CHECK(xv.grad().array().abs().sum() > 0.0);
}

TEST_CASE("conv2d refuses a weight cache made for another tensor", "[ops][conv2d][cache][errors]") {
    const Tensor<float> w = random_as<float>({4, 2, 3, 3}, 31), other = random_as<float>({4, 2, 3, 3}, 32);
    const Tensor<float> x = random_as<float>({1, 2, 5, 5}, 33);
    ConvWeightCache<float> cache(other);
    Tape tape;
    NoGradGuard off(tape);
    CHECK_THROWS_WITH(conv2d(tape.constant(x), tape.constant(w), Var<float>(), {1, 1}, &cache),
                      Catch::Contains("conv2d: the weight cache was made for a tensor of shape [4, 2, 3, 3]") &&
                          Catch::Contains("that is not the weight"));
    CHECK_THROWS_AS(conv2d_affine(tape.constant(x), tape.constant(w), Var<float>(), Var<float>(), {1, 1},
                                  Var<float>(), false, &cache),
                    ArgumentError);
}

TEST_CASE("nn::Conv2d in inference packs its weight once and follows optimizer steps", "[nn][conv2d][cache]") {
    nn::Conv2d<float> conv(nn::Conv2dOptions(3, 8, 3).padding(1));
    const Tensor<float> x = random_as<float>({4, 3, 10, 10}, 41);
    const bool packs = active_isa() != Isa::generic;
    auto eval_forward = [&] {
        Tape tape;
        NoGradGuard off(tape);
        const Var<float> y = conv(tape.constant(x));
        return std::vector<float>(y.value().data(), y.value().data() + y.numel());
    };
    auto uncached = [&] {
        Tape tape;
        NoGradGuard off(tape);
        const Var<float> y = conv2d(tape.constant(x), tape.constant(conv.weight().value),
                                    tape.constant(conv.bias()->value), {1, 1});
        return std::vector<float>(y.value().data(), y.value().data() + y.numel());
    };
    CHECK(same_bits(eval_forward(), uncached()));
    CHECK(same_bits(eval_forward(), uncached()));
    CHECK(conv.weight_cache().fills() == (packs ? 1u : 0u));

    // One SGD step (recorded forward, backward, update) changes the weight: the next inference repacks.
    optim::SGD<float> sgd(conv.parameters(), optim::SGDOptions(0.1));
    {
        Tape tape;
        sum(conv(tape.constant(x))).backward();
        sgd.step();
    }
    CHECK(conv.weight_cache().fills() == (packs ? 1u : 0u));  // training does not touch the cache
    CHECK(same_bits(eval_forward(), uncached()));
    CHECK(conv.weight_cache().fills() == (packs ? 2u : 0u));
}

TEST_CASE("A ResNet in evaluation mode packs each convolution once over many forwards", "[models][conv2d][cache]") {
    // Every read a forward makes of a weight must be a const access: one through a mutable accessor would advance
    // the weight's version and repack it on every request.
    for (const char* name : {"resnet18", "resnet20-aux", "dsn"}) {
        INFO(name);
        auto model = models::make_model<float>(name);
        model->eval();
        const Tensor<float> x = random_as<float>({2, 1, 28, 28}, 51);
        std::vector<nn::Conv2d<float>*> convs;
        for (auto& named : model->named_modules())
            if (auto* c = dynamic_cast<nn::Conv2d<float>*>(named.second)) convs.push_back(c);
        REQUIRE(!convs.empty());
        auto total_fills = [&] {
            std::uint64_t n = 0;
            for (auto* c : convs) n += c->weight_cache().fills();
            return n;
        };
        std::vector<float> first;
        for (int request = 0; request < 3; ++request) {
            Tape tape;
            NoGradGuard off(tape);
            const Var<float> y = (*model)(tape.constant(x));
            const std::vector<float> got(y.value().data(), y.value().data() + y.numel());
            if (request == 0) first = got;
            CHECK(same_bits(got, first));
        }
        const std::uint64_t after_three = total_fills();
        if (active_isa() != Isa::generic) CHECK(after_three > 0);
        Tape tape;
        NoGradGuard off(tape);
        (void)(*model)(tape.constant(x));
        CHECK(total_fills() == after_three);
        CHECK(after_three <= convs.size());  // at most one fill per convolution, whatever the number of requests
    }
}
