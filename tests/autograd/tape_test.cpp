#include <catch2/catch.hpp>

#include "strata/autograd/gradcheck.hpp"
#include "strata/autograd/tape.hpp"
#include "strata/ops/add.hpp"

using namespace strata;

TEST_CASE("A value used twice receives the sum of both gradients", "[tape]") {
    Tape tape;
    Tensor<double> x0(Shape{3}, {1, 2, 3});
    auto x = tape.variable(x0);
    auto y = add(x, x);
    auto z = add(y, x);  // z = 3x
    Tensor<double> seed(Shape{3}, {1, 10, 100});
    tape.backward(z, seed.view());
    CHECK(x.grad()[0] == 3);
    CHECK(x.grad()[1] == 30);
    CHECK(x.grad()[2] == 300);
    CHECK(tape.node_count() == 2);
}

TEST_CASE("Parameters receive gradients directly and accumulate until zero_grad", "[tape]") {
    Parameter<float> p(Tensor<float>(Shape{2}, {1, 2}));
    Tensor<float> c0(Shape{2}, {5, 6});
    Tape tape;
    for (int step = 1; step <= 2; ++step) {
        tape.rewind();
        auto w = tape.parameter(p);
        auto out = add(w, tape.constant(c0));
        tape.backward(out, Tensor<float>(Shape{2}, 1.0f).view());
        CHECK(p.grad()[0] == float(step));
    }
    p.zero_grad();
    CHECK(p.grad()[1] == 0.0f);
}

TEST_CASE("NoGradGuard records nothing; constants record nothing", "[tape]") {
    Tape tape;
    Tensor<double> a(Shape{2}, 1.0);
    auto x = tape.variable(a);
    {
        NoGradGuard guard(tape);
        auto y = add(x, x);
        CHECK_FALSE(y.requires_grad());
        CHECK(y.value()[0] == 2.0);
    }
    CHECK(tape.node_count() == 0);
    auto c = tape.constant(a);
    auto d = add(c, c);
    CHECK(tape.node_count() == 0);
    CHECK_FALSE(d.requires_grad());
    CHECK_THROWS_WITH(d.grad(), Catch::Contains("does not require a gradient"));
    CHECK_THROWS_AS(tape.backward(d, a.view()), ArgumentError);
}

TEST_CASE("Using a Var after rewind is caught with a clear message", "[tape]") {
    Tape tape;
    Tensor<double> a(Shape{2}, 1.0);
    auto x = tape.variable(a);
    tape.rewind();
    CHECK_THROWS_AS(x.value(), LifetimeError);
    CHECK_THROWS_WITH(x.shape(), Catch::Contains("after the tape was rewound"));
    Var<double> undefined;
    CHECK_THROWS_WITH(undefined.value(), Catch::Contains("undefined Var"));
}

TEST_CASE("backward needs a scalar root and runs once per step", "[tape]") {
    Tape tape;
    Tensor<double> a(Shape{2}, 1.0);
    auto x = tape.variable(a);
    auto y = add(x, x);
    CHECK_THROWS_WITH(y.backward(), Catch::Contains("scalar") && Catch::Contains("[2]"));
    tape.backward(y, a.view());
    CHECK_THROWS_WITH(tape.backward(y, a.view()), Catch::Contains("already run"));
    tape.rewind();
    auto x2 = tape.variable(a);
    tape.backward(add(x2, x2), a.view());
    CHECK(x2.grad()[0] == 2.0);
}

TEST_CASE("A steady-state step reuses the arena without growing it", "[tape]") {
    Tape tape(4096);
    Tensor<float> a(Shape{64, 64}, 1.0f);
    auto step = [&] {
        tape.rewind();
        auto x = tape.variable(a);
        auto y = x;
        for (int i = 0; i < 8; ++i) y = add(y, x);
        tape.backward(y, a.view());
    };
    step();
    step();
    const auto reserved = tape.arena().bytes_reserved();
    for (int i = 0; i < 5; ++i) step();
    CHECK(tape.arena().block_count() == 1);
    CHECK(tape.arena().bytes_reserved() == reserved);
}

TEST_CASE("Ops on different tapes are refused", "[tape]") {
    Tape t1, t2;
    Tensor<double> a(Shape{2}, 1.0);
    CHECK_THROWS_WITH(add(t1.variable(a), t2.variable(a)), Catch::Contains("different tapes"));
}

TEST_CASE("gradcheck reports a wrong gradient and names the worst element", "[gradcheck]") {
    // A deliberately wrong op: forward 2x, backward claims 3.
    auto wrong = [](Tape& tape, const std::vector<Var<double>>& v) {
        Var<double> x = v[0];
        Var<double> out = tape.make_output<double>(x.shape(), tape.needs_grad(x));
        out.mutable_value().array() = 2 * x.value().array();
        tape.record("wrong", out, [x, out] { x.grad().array() += 3 * out.grad().array(); });
        return out;
    };
    Tensor<double> x(Shape{4}, {1, 2, 3, 4});
    GradcheckResult r = gradcheck(wrong, {&x});
    CHECK_FALSE(r.passed);
    CHECK(r.worst.find("analytic") != std::string::npos);
    CHECK(r.max_abs_error > 0.4);
    auto right = [](Tape&, const std::vector<Var<double>>& v) { return add(v[0], v[0]); };
    GradcheckResult ok = gradcheck(right, {&x});
    CHECK(ok.passed);
    CHECK(ok.elements_checked == 4);
}

TEST_CASE("Tape::ScratchScope hands its buffers back to the arena when it ends, and scopes nest", "[tape]") {
    Tape tape;
    const Tensor<float> x0(Shape{2}, {1, 2});
    auto x = tape.constant(x0);
    const std::size_t before = tape.arena().bytes_in_use();
    const std::size_t floats = (1000 * sizeof(float) + 63) / 64 * 64;  // the arena rounds to whole lines
    float* first = nullptr;
    {
        Tape::ScratchScope outer(tape);
        first = tape.buffer<float>(1000);
        {
            Tape::ScratchScope inner(tape);
            tape.buffer<double>(5000);
            CHECK(tape.arena().bytes_in_use() == before + floats + 5000 * sizeof(double));
        }
        CHECK(tape.arena().bytes_in_use() == before + floats);
    }
    CHECK(tape.arena().bytes_in_use() == before);
    CHECK(tape.buffer<float>(1000) == first);  // the same memory again
    CHECK(x.value()[1] == 2.0f);               // what was allocated before the scope is untouched
}
