// Tests of nn/activation.hpp: the parameter-free layers forward exactly their functional op, have no parameters,
// and pass their options on.

#include <catch2/catch.hpp>

#include "strata/nn/activation.hpp"

using namespace strata;
using namespace strata::nn;

namespace {
Tensor<float> random_input(const Shape& shape, std::uint64_t seed) {
    Tensor<float> x(shape);
    Generator g(seed);
    x.fill_normal(g);
    return x;
}
bool same(const Var<float>& a, const Var<float>& b) {
    return a.shape() == b.shape() && a.value().array().isApprox(b.value().array(), 0.0f);
}
}  // namespace

TEST_CASE("Activation and pooling layers forward exactly their op and own no parameters", "[nn][activation]") {
    const auto x = random_input(Shape{2, 3, 7, 7}, 1);
    Tape tape;
    const Var<float> v = tape.constant(x);
    ReLU<float> r;
    Flatten<float> f;
    MaxPool2d<float> mp(Pool2dOptions(3).stride(2).padding(1));
    AvgPool2d<float> ap(Pool2dOptions(3).padding(1).count_include_pad(false));
    GlobalAvgPool2d<float> gap;
    CHECK(same(r(v), relu(v)));
    CHECK(same(f(v), flatten(v)));
    CHECK(f(v).shape() == Shape{2, 3 * 7 * 7});
    CHECK(same(mp(v), max_pool2d(v, 3, 2, 1)));
    CHECK(mp(v).shape() == Shape{2, 3, 4, 4});
    CHECK(same(ap(v), avg_pool2d(v, 3, 3, 1, false)));
    CHECK_FALSE(same(ap(v), avg_pool2d(v, 3, 3, 1, true)));  // count_include_pad reaches the op
    CHECK(same(gap(v), global_avg_pool2d(v)));
    for (Module<float>* m : std::initializer_list<Module<float>*>{&r, &f, &mp, &ap, &gap}) {
        CHECK(m->parameters().empty());
        CHECK(m->named_buffers().empty());
    }
    CHECK(gap.type_name() == "GlobalAvgPool2d");
}

TEST_CASE("Pool2dOptions default the stride to the kernel, as PyTorch", "[nn][activation]") {
    const Pool2dOptions o(3);
    CHECK(o.stride() == 3);
    CHECK(o.padding() == 0);
    CHECK(o.count_include_pad());
    Tape tape;
    const auto x = random_input(Shape{1, 1, 6, 6}, 2);
    CHECK(MaxPool2d<float>(o)(tape.constant(x)).shape() == Shape{1, 1, 2, 2});
}

TEST_CASE("Pooling layers report a too-small input with its shape", "[nn][activation]") {
    Tape tape;
    const auto x = random_input(Shape{1, 2, 2, 2}, 3);
    MaxPool2d<float> mp(Pool2dOptions(3));
    CHECK_THROWS_AS(mp(tape.constant(x)), ShapeError);
    GlobalAvgPool2d<float> gap;
    const auto flat = random_input(Shape{2, 3}, 4);
    CHECK_THROWS_AS(gap(tape.constant(flat)), ShapeError);
}
