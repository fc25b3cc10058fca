#include <catch2/catch.hpp>

#include <thread>

#include "strata/autograd/tape.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/relu.hpp"

using namespace strata;

namespace {
Tensor<float> ramp(index_t n) {
    Tensor<float> t(Shape{n});
    for (index_t i = 0; i < n; ++i) t[i] = static_cast<float>(i) - 1.5f;
    return t;
}
}  // namespace

TEST_CASE("A default NoGradGuard stops recording on every tape of this thread, and nests", "[autograd][nograd]") {
    Tape a, b;
    Var<float> xa = a.variable(ramp(4)), xb = b.variable(ramp(4));
    {
        NoGradGuard no_grad;
        CHECK_FALSE(a.grad_enabled());
        CHECK_FALSE(b.grad_enabled());
        Var<float> ya = relu(xa), yb = relu(xb);
        CHECK_FALSE(ya.requires_grad());
        CHECK_FALSE(yb.requires_grad());
        CHECK(a.node_count() == 0);
        CHECK(b.node_count() == 0);
        {
            NoGradGuard inner;
            CHECK_FALSE(a.grad_enabled());
        }
        CHECK_FALSE(a.grad_enabled());  // the inner guard restored "off", not "on"
        CHECK(ya.value()[3] == 1.5f);   // values are still computed
    }
    CHECK(a.grad_enabled());
    CHECK(b.grad_enabled());
    Var<float> y = relu(xa);
    CHECK(y.requires_grad());
    CHECK(a.node_count() == 1);
}

TEST_CASE("A default NoGradGuard covers only its own thread", "[autograd][nograd]") {
    NoGradGuard no_grad;
    bool other_thread_records = false;
    std::thread t([&] {
        Tape tape;
        Var<float> x = tape.variable(ramp(3));
        other_thread_records = relu(x).requires_grad() && tape.grad_enabled();
    });
    t.join();
    CHECK(other_thread_records);
    Tape tape;
    CHECK_FALSE(tape.grad_enabled());
}

TEST_CASE("A tape's own NoGradGuard leaves other tapes recording and restores the tape's setting",
          "[autograd][nograd]") {
    Tape a, b;
    {
        NoGradGuard no_grad(a);
        CHECK_FALSE(a.grad_enabled());
        CHECK(b.grad_enabled());
        {
            NoGradGuard all;  // a thread guard inside a tape guard: the tape guard's "off" survives the thread one
        }
        CHECK_FALSE(a.grad_enabled());
    }
    CHECK(a.grad_enabled());
    {
        NoGradGuard all;
        NoGradGuard one(a);  // saved a's own setting (on), not the thread-wide "off"
    }
    CHECK(a.grad_enabled());
}

TEST_CASE("tape.constant of a temporary tensor copies it into the arena", "[autograd][constant]") {
    Tape tape;
    Var<float> c = tape.constant(ramp(5));  // the temporary dies at the end of this statement
    std::vector<float> scribble(64, 99.0f);  // reuse freed heap memory, which a dangling view would now read
    CHECK_FALSE(c.requires_grad());
    REQUIRE(c.shape() == Shape{5});
    for (index_t i = 0; i < 5; ++i) CHECK(c.value()[i] == static_cast<float>(i) - 1.5f);
    CHECK(scribble[0] == 99.0f);

    // An lvalue is viewed, not copied: a later change to the tensor shows through.
    Tensor<float> kept = ramp(2);
    Var<float> v = tape.constant(kept);
    kept[0] = 7.0f;
    CHECK(v.value()[0] == 7.0f);
    // A view is viewed too, whether const or not.
    Var<float> w = tape.constant(kept.view());
    Var<float> wc = tape.constant(static_cast<const Tensor<float>&>(kept).view());
    CHECK(w.value().data() == kept.data());
    CHECK(wc.value().data() == kept.data());
    CHECK(add(w, wc).value()[0] == 14.0f);
}
