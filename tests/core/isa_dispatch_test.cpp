#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "ops/op_test_util.hpp"
#include "support/isa_scope.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/relu.hpp"
#include "strata/ops/scale.hpp"
#include "strata/optim/sgd.hpp"

using namespace strata;
using strata::test::available_isas;
using strata::test::IsaScope;
using strata::test::random_tensor;

// The plain loops compiled per ISA through detail::run_for_active_isa (relu, add, scale, SGD's update), run on
// every kernel family this CPU supports and compared with the textbook formula. Sizes are odd so every
// vector loop has a remainder.

TEMPLATE_TEST_CASE("relu, add and scale give the same values and gradients on every ISA", "[core][isa]", float,
                   double) {
    using T = TestType;
    const Shape shape{3, 7, 49};  // 1029 elements
    const auto a0 = random_tensor<T>(shape, 1), b0 = random_tensor<T>(shape, 2), seed = random_tensor<T>(shape, 3);
    for (const Isa isa : available_isas()) {
        IsaScope scope(isa);
        INFO("isa " << isa_name(isa));
        Tape tape;
        auto a = tape.variable(a0);
        auto b = tape.variable(b0);
        auto y = scale(relu(add(a, b)), T(0.5));
        tape.backward(y, seed.view());
        for (index_t i = 0; i < a0.numel(); ++i) {
            const T sum = a0[i] + b0[i];
            const T want = sum > 0 ? T(0.5) * sum : T(0);
            REQUIRE(std::abs(y.value()[i] - want) <= 4 * std::numeric_limits<T>::epsilon() * std::abs(want));
            const T dsum = sum > 0 ? T(0.5) * seed[i] : T(0);
            REQUIRE(std::abs(a.grad()[i] - dsum) <= 4 * std::numeric_limits<T>::epsilon() * std::abs(dsum));
            REQUIRE(b.grad()[i] == a.grad()[i]);
        }
        Tensor<T> nan_in(Shape{3}, {std::numeric_limits<T>::quiet_NaN(), T(-1), T(2)});
        auto r = relu(tape.constant(nan_in));
        CHECK(std::isnan(r.value()[0]));  // as PyTorch: relu(NaN) is NaN
        CHECK(r.value()[1] == T(0));
        CHECK(r.value()[2] == T(2));
    }
}

TEMPLATE_TEST_CASE("SGD's update loops give the textbook update on every ISA", "[core][isa][sgd]", float, double) {
    using T = TestType;
    const Shape shape{1001};
    const auto w0 = random_tensor<T>(shape, 4), g0 = random_tensor<T>(shape, 5), g1 = random_tensor<T>(shape, 6);
    struct Setting {
        double momentum, dampening, weight_decay;
        bool nesterov;
    };
    const Setting settings[] = {{0, 0, 0, false}, {0, 0, 0.01, false}, {0.9, 0.2, 0, false},
                                {0.9, 0, 0.01, false}, {0.8, 0, 0, true}, {0.8, 0, 0.02, true}};
    for (const Isa isa : available_isas()) {
        IsaScope scope(isa);
        for (const Setting& s : settings) {
            INFO("isa " << isa_name(isa) << " momentum " << s.momentum << " weight decay " << s.weight_decay
                        << " nesterov " << s.nesterov);
            Parameter<T> p(w0.clone());
            optim::SGD<T> opt({&p}, optim::SGDOptions(0.1)
                                        .momentum(s.momentum)
                                        .dampening(s.dampening)
                                        .weight_decay(s.weight_decay)
                                        .nesterov(s.nesterov));
            std::vector<double> w(w0.data(), w0.data() + w0.numel()), buf(w.size(), 0.0);
            for (int step = 0; step < 2; ++step) {
                const Tensor<T>& g = step == 0 ? g0 : g1;
                std::copy(g.data(), g.data() + g.numel(), p.grad.data());
                opt.step();
                for (std::size_t i = 0; i < w.size(); ++i) {
                    double d = static_cast<double>(g[static_cast<index_t>(i)]) + s.weight_decay * w[i];
                    if (s.momentum != 0) {
                        buf[i] = step == 0 ? d : s.momentum * buf[i] + (1 - s.dampening) * d;
                        d = s.nesterov ? d + s.momentum * buf[i] : buf[i];
                    }
                    w[i] -= 0.1 * d;
                }
                for (std::size_t i = 0; i < w.size(); ++i)
                    REQUIRE(std::abs(static_cast<double>(p.value[static_cast<index_t>(i)]) - w[i]) <=
                            16 * std::numeric_limits<T>::epsilon() * (1 + std::abs(w[i])));
            }
        }
    }
}
