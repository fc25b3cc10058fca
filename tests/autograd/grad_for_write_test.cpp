#include <catch2/catch.hpp>

#include <cmath>
#include <functional>

#include "strata/autograd/tape.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/batch_norm.hpp"
#include "strata/ops/conv2d.hpp"
#include "strata/ops/relu.hpp"
#include "strata/ops/scale.hpp"
#include "support/random_tensor.hpp"

using namespace strata;
using strata::test::random_tensor;

// relu, add, batch_norm and conv2d write the gradient of an input that no other op has reached yet (grad_for_write)
// instead of zeroing it and adding. With fan-out, the op that reaches the input first writes and the others
// add, so the result must not depend on which op's backward runs first.

TEST_CASE("grad_for_write gives a fresh buffer once, then the accumulated one", "[autograd][grad_for_write]") {
    Tape tape;
    auto x = tape.variable(random_tensor(Shape{5}, 1));
    bool fresh = false;
    auto first = x.grad_for_write(fresh);
    CHECK(fresh);
    for (index_t i = 0; i < 5; ++i) first[i] = 2.0;
    auto again = x.grad_for_write(fresh);
    CHECK_FALSE(fresh);
    CHECK(again.data() == first.data());
    CHECK(x.grad()[3] == 2.0);  // grad() does not zero a buffer that exists
    auto y = tape.variable(random_tensor(Shape{2}, 2));
    CHECK(y.grad()[0] == 0.0);  // grad() still zero-initialises
    y.grad_for_write(fresh);
    CHECK_FALSE(fresh);
    auto c = tape.constant(random_tensor(Shape{2}, 3));
    CHECK_THROWS_AS(c.grad_for_write(fresh), ArgumentError);
}

TEST_CASE("an op's input gradient does not depend on whether the op reaches the input first",
          "[autograd][grad_for_write]") {
    const Shape shape{3, 4, 5, 3};
    const Tensor<double> x0 = random_tensor(shape, 7), seed = random_tensor(shape, 8);
    const Tensor<double> w0 = random_tensor(Shape{4, 4, 3, 3}, 9);
    using Op = std::function<Var<double>(const Var<double>&)>;
    const std::pair<const char*, Op> ops[] = {
        {"relu", [](const Var<double>& x) { return relu(x); }},
        {"add", [](const Var<double>& x) { return add(x, x); }},
        {"batch_norm",
         [](const Var<double>& x) { return batch_norm(x, Var<double>(), Var<double>(), nullptr, nullptr, true); }},
        // stride 1, every tap active: the input gradient is the transposed convolution, which writes it
        {"conv2d",
         [&w0](const Var<double>& x) { return conv2d(x, x.tape().constant(w0), Var<double>(), {1, 1}); }},
    };
    for (const auto& [name, op] : ops) {
        INFO("op " << name);
        // alone: the op writes x's gradient
        Tape alone_tape;
        auto xa = alone_tape.variable(x0);
        alone_tape.backward(op(xa), seed.view());
        // op recorded last, so its backward runs first: it writes, scale's backward adds
        Tape first_tape;
        auto xf = first_tape.variable(x0);
        auto side_f = scale(xf, 0.5);
        first_tape.backward(add(op(xf), side_f), seed.view());
        // op recorded first, so its backward runs last: scale's backward zero-initialises and adds, the op adds
        Tape last_tape;
        auto xl = last_tape.variable(x0);
        auto main_l = op(xl);
        last_tape.backward(add(main_l, scale(xl, 0.5)), seed.view());
        for (index_t i = 0; i < x0.numel(); ++i) {
            const double want = xa.grad()[i] + 0.5 * seed[i];
            REQUIRE(std::abs(xf.grad()[i] - want) <= 1e-12 * (1 + std::abs(want)));
            REQUIRE(std::abs(xl.grad()[i] - want) <= 1e-12 * (1 + std::abs(want)));
        }
    }
}
