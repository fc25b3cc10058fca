#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "ops/op_test_util.hpp"
#include "support/isa_scope.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/batch_norm.hpp"
#include "strata/ops/conv2d_affine.hpp"
#include "strata/ops/max_pool2d.hpp"
#include "strata/ops/relu.hpp"
#include "strata/ops/scale.hpp"
#include "strata/optim/sgd.hpp"

using namespace strata;
using strata::test::available_isas;
using strata::test::IsaScope;
using strata::test::random_tensor;

// The plain loops compiled per ISA through detail::run_for_active_isa (relu, add, scale, SGD's update,
// batch-norm's channel loops, the values-only max-pool, the convolution's epilogue), run on every kernel family
// this CPU supports and compared with the textbook formula. Sizes are odd so every vector loop has a remainder.

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
                std::copy(g.data(), g.data() + g.numel(), p.grad().data());
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

TEMPLATE_TEST_CASE("batch_norm's channel loops give the textbook values and gradients on every ISA",
                   "[core][isa][batch_norm]", float, double) {
    using T = TestType;
    const double tol = std::is_same_v<T, float> ? 3e-5 : 1e-11;
    // S = 35 (four 8-lane blocks and a remainder of 3) and S = 1 with N = 6 (fewer values than lanes).
    for (const Shape& shape : {Shape{4, 3, 5, 7}, Shape{6, 5}}) {
        const index_t N = shape[0], C = shape[1], S = shape.rank() == 4 ? shape[2] * shape[3] : 1;
        Tensor<T> x0 = random_tensor<T>(shape, 11);
        for (index_t i = 0; i < x0.numel(); ++i) x0[i] = x0[i] * T(2) + T(3);  // mean and scale away from 0 and 1
        const auto g0 = random_tensor<T>(Shape{C}, 12), b0 = random_tensor<T>(Shape{C}, 13);
        const auto dy = random_tensor<T>(shape, 14);
        const double eps = 1e-5;
        for (const Isa isa : available_isas()) {
            IsaScope scope(isa);
            INFO("isa " << isa_name(isa) << ", shape " << shape);
            Tape tape;
            auto x = tape.variable(x0);
            auto gamma = tape.variable(g0);
            auto beta = tape.variable(b0);
            Tensor<T> running_mean(Shape{C}, T(0)), running_var(Shape{C}, T(1));
            auto y = batch_norm(x, gamma, beta, &running_mean, &running_var, true, 0.1, eps);
            tape.backward(y, dy.view());
            for (index_t c = 0; c < C; ++c) {
                auto at = [&](index_t n, index_t s) { return (n * C + c) * S + s; };
                const double M = static_cast<double>(N * S);
                double m = 0, v = 0;
                for (index_t n = 0; n < N; ++n)
                    for (index_t s = 0; s < S; ++s) m += static_cast<double>(x0[at(n, s)]) / M;
                for (index_t n = 0; n < N; ++n)
                    for (index_t s = 0; s < S; ++s) v += std::pow(static_cast<double>(x0[at(n, s)]) - m, 2) / M;
                const double is = 1 / std::sqrt(v + eps), g = static_cast<double>(g0[c]);
                double sum_dy = 0, sum_dy_xhat = 0;
                for (index_t n = 0; n < N; ++n)
                    for (index_t s = 0; s < S; ++s) {
                        sum_dy += static_cast<double>(dy[at(n, s)]);
                        sum_dy_xhat += static_cast<double>(dy[at(n, s)]) * (static_cast<double>(x0[at(n, s)]) - m) * is;
                    }
                REQUIRE(std::abs(static_cast<double>(running_mean[c]) - 0.1 * m) <= tol * (1 + std::abs(m)));
                REQUIRE(std::abs(static_cast<double>(running_var[c]) - (0.9 + 0.1 * v * M / (M - 1))) <= tol * (1 + v));
                REQUIRE(std::abs(static_cast<double>(gamma.grad()[c]) - sum_dy_xhat) <=
                        tol * (1 + std::abs(sum_dy_xhat)));
                REQUIRE(std::abs(static_cast<double>(beta.grad()[c]) - sum_dy) <= tol * (1 + std::abs(sum_dy)));
                for (index_t n = 0; n < N; ++n)
                    for (index_t s = 0; s < S; ++s) {
                        const double xhat = (static_cast<double>(x0[at(n, s)]) - m) * is;
                        const double want_y = g * xhat + static_cast<double>(b0[c]);
                        const double want_dx =
                            g * is * (static_cast<double>(dy[at(n, s)]) - sum_dy / M - xhat * sum_dy_xhat / M);
                        REQUIRE(std::abs(static_cast<double>(y.value()[at(n, s)]) - want_y) <=
                                tol * (1 + std::abs(want_y)));
                        REQUIRE(std::abs(static_cast<double>(x.grad()[at(n, s)]) - want_dx) <=
                                tol * (1 + std::abs(want_dx)));
                    }
            }
        }
    }
}

TEMPLATE_TEST_CASE("max_pool2d's values-only kernel equals the indexed one on every ISA", "[core][isa][max_pool2d]",
                   float, double) {
    using T = TestType;
    const auto x0 = random_tensor<T>(Shape{2, 3, 13, 11}, 21);
    Tape reference_tape;
    const auto indexed = max_pool2d(reference_tape.variable(x0), 3, 2, 1);  // records: the indexed loop
    for (const Isa isa : available_isas()) {
        IsaScope scope(isa);
        INFO("isa " << isa_name(isa));
        Tape tape;
        NoGradGuard no_grad(tape);
        const auto y = max_pool2d(tape.constant(x0), 3, 2, 1);
        REQUIRE(y.shape() == indexed.shape());
        for (index_t i = 0; i < y.numel(); ++i) REQUIRE(y.value()[i] == indexed.value()[i]);  // a max is exact
    }
}

TEMPLATE_TEST_CASE("conv2d_affine's epilogue gives the direct convolution's values on every ISA",
                   "[core][isa][conv2d]", float, double) {
    using T = TestType;
    const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
    const index_t N = 3, Cin = 3, H = 6, W = 5, Cout = 5;  // 30 positions: one chunk holds several samples
    const auto x0 = random_tensor<T>(Shape{N, Cin, H, W}, 31), w0 = random_tensor<T>(Shape{Cout, Cin, 3, 3}, 32);
    const auto scale0 = random_tensor<T>(Shape{Cout}, 33), shift0 = random_tensor<T>(Shape{Cout}, 34);
    const auto res0 = random_tensor<T>(Shape{N, Cout, H, W}, 35);
    for (const Isa isa : available_isas()) {
        IsaScope scope(isa);
        INFO("isa " << isa_name(isa));
        Tape tape;
        NoGradGuard no_grad(tape);
        const auto y = conv2d_affine(tape.constant(x0), tape.constant(w0), tape.constant(scale0),
                                     tape.constant(shift0), Conv2dParams{1, 1}, tape.constant(res0), true);
        for (index_t n = 0; n < N; ++n)
            for (index_t co = 0; co < Cout; ++co)
                for (index_t h = 0; h < H; ++h)
                    for (index_t w = 0; w < W; ++w) {
                        double acc = 0;
                        for (index_t ci = 0; ci < Cin; ++ci)
                            for (index_t i = 0; i < 3; ++i)
                                for (index_t j = 0; j < 3; ++j) {
                                    const index_t hh = h + i - 1, ww = w + j - 1;
                                    if (hh < 0 || hh >= H || ww < 0 || ww >= W) continue;
                                    acc += static_cast<double>(x0[((n * Cin + ci) * H + hh) * W + ww]) *
                                           static_cast<double>(w0[((co * Cin + ci) * 3 + i) * 3 + j]);
                                }
                        const index_t at = ((n * Cout + co) * H + h) * W + w;
                        const double want = std::max(0.0, acc * static_cast<double>(scale0[co]) +
                                                              static_cast<double>(shift0[co]) +
                                                              static_cast<double>(res0[at]));
                        REQUIRE(std::abs(static_cast<double>(y.value()[at]) - want) <= tol * (1 + std::abs(want)));
                    }
    }
}
