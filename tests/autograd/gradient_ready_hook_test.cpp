#include <catch2/catch.hpp>

#include <vector>

#include "strata/autograd/tape.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/mul.hpp"
#include "strata/ops/sum.hpp"

using namespace strata;

namespace {

/// Records, at each call of the hook, which parameter was reported and a copy of its gradient at that moment.
struct ReadyLog {
    std::vector<const Parameter<double>*> params;
    std::vector<const void*> order;
    std::vector<std::vector<double>> grads_at_call;

    static void hook(void* self_ptr, const void* grad) {
        auto& self = *static_cast<ReadyLog*>(self_ptr);
        self.order.push_back(grad);
        for (const Parameter<double>* p : self.params)
            if (p->grad().data() == grad)
                self.grads_at_call.emplace_back(p->grad().data(), p->grad().data() + p->numel());
    }
};

Parameter<double> param(double v0, double v1) { return Parameter<double>(Tensor<double>(Shape{2}, {v0, v1})); }

}  // namespace

TEST_CASE("The gradient-ready hook reports each parameter once, when its gradient is final", "[tape]") {
    // loss = sum(a * x + b * (a * x)) + sum(c): a is used twice (weight sharing), b after a, c last; d is bound but
    // never used; e is bound under NoGradGuard only.
    Parameter<double> a = param(1, 2), b = param(3, 4), c = param(5, 6), d = param(7, 8), e = param(9, 9);
    ReadyLog log;
    log.params = {&a, &b, &c, &d, &e};
    const Tensor<double> x0(Shape{2}, {10, 20});
    Tape tape;
    tape.set_gradient_ready_hook(&ReadyLog::hook, &log);
    for (int step = 0; step < 2; ++step) {  // the marks are per step: a rewind forgets them
        log.order.clear();
        log.grads_at_call.clear();
        for (Parameter<double>* p : {&a, &b, &c, &d, &e}) p->zero_grad();
        tape.rewind();
        auto x = tape.constant(x0);
        auto ax = mul(tape.parameter(a), x);
        auto bax = mul(tape.parameter(b), ax);
        auto again = mul(tape.parameter(a), x);  // a bound a second time: still reported once
        tape.parameter(d);
        {
            NoGradGuard guard(tape);
            tape.parameter(e);
        }
        auto loss = add(sum(add(add(ax, bax), again)), sum(tape.parameter(c)));
        tape.backward(loss);

        // Reported in reverse binding order: c (bound last), d, b, a; e (bound without gradients) never.
        REQUIRE(log.order ==
                std::vector<const void*>{c.grad().data(), d.grad().data(), b.grad().data(), a.grad().data()});
        // Each gradient was already final when reported.
        const std::vector<const Parameter<double>*> reported = {&c, &d, &b, &a};
        for (std::size_t k = 0; k < reported.size(); ++k) {
            const Parameter<double>& p = *reported[k];
            CHECK(log.grads_at_call[k] == std::vector<double>(p.grad().data(), p.grad().data() + p.numel()));
        }
        // d(loss)/da = x + b * x + x (both uses), d/db = a * x, d/dc = 1.
        CHECK(a.grad()[0] == 10 + 3 * 10 + 10);
        CHECK(a.grad()[1] == 20 + 4 * 20 + 20);
        CHECK(b.grad()[1] == 2 * 20);
        CHECK(c.grad()[0] == 1);
        CHECK(d.grad()[0] == 0);
    }
}

TEST_CASE("The gradient-ready hook also fires in anomaly mode, and not at all once removed", "[tape]") {
    Parameter<double> a = param(1, 2), b = param(3, 4);
    ReadyLog log;
    log.params = {&a, &b};
    Tape tape;
    tape.set_detect_anomaly(true);
    tape.set_gradient_ready_hook(&ReadyLog::hook, &log);
    auto va = tape.parameter(a);  // bound first, so reported last
    auto vb = tape.parameter(b);
    tape.backward(sum(mul(va, vb)));
    CHECK(log.order == std::vector<const void*>{b.grad().data(), a.grad().data()});

    log.order.clear();
    tape.set_gradient_ready_hook(nullptr, nullptr);
    tape.rewind();
    tape.backward(sum(mul(tape.parameter(a), tape.parameter(b))));
    CHECK(log.order.empty());
    CHECK(a.grad()[0] == 2 * 3);  // accumulated over both steps
}
