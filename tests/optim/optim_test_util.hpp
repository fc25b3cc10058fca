#pragma once
// Shared helpers of the optimizer and schedule tests: the quadratic + sine problem of the optim_*.txt fixtures
// (see tests/fixtures/generate_optim.py) and a two-group SGD for the sched_*.txt fixtures.

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "strata/optim/schedule/base.hpp"
#include "strata/optim/sgd.hpp"
#include "support/fixture.hpp"

namespace strata::test {

/// Two parameters p0 [4, 6], p1 [6] and the loss sum(A * p^2 + b * sin(p)) of an optim_<config>.txt fixture.
template <class T>
struct QuadSinProblem {
    explicit QuadSinProblem(const std::string& file)
        : fixture(file),
          p0(fixture.get<T>("p0_init")),
          p1(fixture.get<T>("p1_init")),
          a{fixture.get<T>("A0"), fixture.get<T>("A1")},
          b{fixture.get<T>("b0"), fixture.get<T>("b1")} {}

    /// grad = 2 * A * p + b * cos(p), in PyTorch's evaluation order.
    void compute_grads() {
        Parameter<T>* ps[2] = {&p0, &p1};
        for (int k = 0; k < 2; ++k)
            for (index_t i = 0; i < ps[k]->numel(); ++i) {
                const T p = ps[k]->value[i];
                ps[k]->grad()[i] = T(2) * a[k][i] * p + b[k][i] * std::cos(p);
            }
    }
    std::vector<Parameter<T>*> params() { return {&p0, &p1}; }

    /// Runs 50 steps of `opt` (compute_grads then step) and checks p0, p1 after every 10th step against the
    /// fixture, to `tol` relative to the reference's largest magnitude.
    template <class Opt>
    void run_and_check(Opt& opt, double tol) {
        for (int step = 1; step <= 50; ++step) {
            compute_grads();
            opt.step();
            if (step % 10 == 0) {
                const std::string s = std::to_string(step);
                INFO("after step " << s);
                CHECK(max_rel_diff(p0.value, fixture.get("p0_step" + s)) < tol);
                CHECK(max_rel_diff(p1.value, fixture.get("p1_step" + s)) < tol);
            }
        }
    }

    Fixture fixture;
    Parameter<T> p0, p1;
    Tensor<T> a[2], b[2];
};

/// An SGD with two groups (lr 0.1 and 0.02, momentum 0.9), what the sched_*.txt fixtures were recorded on.
struct TwoGroupSGD {
    TwoGroupSGD() : opt(optim::SGDOptions(0.1).momentum(0.9)) {
        opt.add_param_group({&a});
        opt.add_param_group({&b}, optim::SGDOptions(0.02).momentum(0.9));
    }
    Parameter<double> a{Tensor<double>(Shape{2})};
    Parameter<double> b{Tensor<double>(Shape{3})};
    optim::SGD<double> opt;
};

/// The lrs (and, with `momentum`, the momenta) of both groups right after construction and after each of
/// `steps` steps: [steps + 1, 2].
inline Tensor<double> record_lrs(optim::LrSchedule& s, optim::LrControl& opt, int steps, bool momentum = false) {
    Tensor<double> out(Shape{steps + 1, 2});
    for (int i = 0; i <= steps; ++i) {
        if (i > 0) s.step();
        for (std::size_t g = 0; g < 2; ++g)
            out.at(i, static_cast<index_t>(g)) = momentum ? opt.momentum(g) : opt.lr(g);
    }
    return out;
}

/// Runs a schedule built by `make` for 60 steps straight, and again with a checkpoint after `cut` steps (its
/// state() loaded into a fresh optimizer and schedule); the resumed lrs must equal the straight ones exactly.
inline void check_schedule_resume(
    const std::function<std::unique_ptr<optim::LrSchedule>(optim::LrControl&)>& make, int cut) {
    TwoGroupSGD straight;
    auto s1 = make(straight.opt);
    const Tensor<double> expected = record_lrs(*s1, straight.opt, 60);

    TwoGroupSGD first;
    auto s2 = make(first.opt);
    for (int i = 0; i < cut; ++i) s2->step();
    const std::vector<double> saved = s2->state();

    TwoGroupSGD resumed;
    auto s3 = make(resumed.opt);
    s3->load_state(saved);
    CHECK(s3->last_epoch() == cut);
    for (int i = cut; i <= 60; ++i) {
        if (i > cut) s3->step();
        CHECK(resumed.opt.lr(0) == expected.at(i, 0));
        CHECK(resumed.opt.lr(1) == expected.at(i, 1));
    }
}

}  // namespace strata::test
