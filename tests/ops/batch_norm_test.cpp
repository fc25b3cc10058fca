#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "support/random_tensor.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/batch_norm.hpp"
#include "support/fixture.hpp"

using namespace strata;
using strata::test::normal_tensor;
using strata::test::Fixture;
using strata::test::max_abs_diff;
using strata::test::max_rel_diff;

namespace {

Tensor<double> positive_tensor(const Shape& s, std::uint64_t seed) {
    Generator g(seed);
    Tensor<double> t(s);
    t.fill_uniform(g, 0.5, 1.5);
    return t;
}

/// Runs one PyTorch fixture in precision T: forward, running statistics, and backward with grad_output.
template <class T>
void check_batch_norm_fixture(const std::string& file, bool training, double tol) {
    INFO(file << " in " << (sizeof(T) == 4 ? "float" : "double"));
    const Fixture fx(file);
    Tensor<T> x = fx.get<T>("input");
    Parameter<T> weight(fx.get<T>("weight")), bias(fx.get<T>("bias"));
    Tensor<T> running_mean = fx.get<T>("running_mean_before"), running_var = fx.get<T>("running_var_before");
    const Tensor<T> grad_output = fx.get<T>("grad_output");

    Tape tape;
    Var<T> vx = tape.variable(x);
    Var<T> y = batch_norm(vx, tape.parameter(weight), tape.parameter(bias), &running_mean, &running_var, training,
                          fx.scalar("momentum"), fx.scalar("eps"));
    CHECK(tape.node_count() == 1);
    CHECK(max_rel_diff(y.value(), fx.get("output")) < tol);
    CHECK(max_rel_diff(running_mean, fx.get("running_mean_after")) < tol);
    CHECK(max_rel_diff(running_var, fx.get("running_var_after")) < tol);
    tape.backward(y, grad_output.view());
    CHECK(max_rel_diff(vx.grad(), fx.get("grad_input")) < tol);
    CHECK(max_rel_diff(weight.grad(), fx.get("grad_weight")) < tol);
    CHECK(max_rel_diff(bias.grad(), fx.get("grad_bias")) < tol);
}

}  // namespace

TEST_CASE("batch_norm matches PyTorch in training and evaluation mode", "[ops][batch_norm][fixture]") {
    for (const char* file : {"batch_norm_train.txt", "batch_norm_train_2d.txt"}) {
        check_batch_norm_fixture<double>(file, true, 1e-10);
        check_batch_norm_fixture<float>(file, true, 1e-5);
    }
    check_batch_norm_fixture<double>("batch_norm_eval.txt", false, 1e-10);
    check_batch_norm_fixture<float>("batch_norm_eval.txt", false, 1e-5);
    // Small maps (2x2 over two blocks of samples, 1x1): the sample-by-sample path.
    check_batch_norm_fixture<double>("batch_norm_train_small.txt", true, 1e-10);
    check_batch_norm_fixture<float>("batch_norm_train_small.txt", true, 1e-5);
    check_batch_norm_fixture<double>("batch_norm_eval_small.txt", false, 1e-10);
    check_batch_norm_fixture<float>("batch_norm_eval_small.txt", false, 1e-5);
    // The eval fixture's running statistics must come back unchanged.
    const Fixture eval("batch_norm_eval.txt");
    CHECK(max_abs_diff(eval.get("running_mean_before"), eval.get("running_mean_after")) == 0.0);
}

TEST_CASE("batch_norm training statistics agree with an independent computation", "[ops][batch_norm]") {
    const index_t N = 3, C = 4, H = 3, W = 5, M = N * H * W;
    const double momentum = 0.25, eps = 1e-4;
    Tensor<double> x = normal_tensor({N, C, H, W}, 11, 2.0, 3.0);
    Tensor<double> gamma = positive_tensor({C}, 12), beta = normal_tensor({C}, 13);
    Tensor<double> rm = normal_tensor({C}, 14), rv = positive_tensor({C}, 15);
    const Tensor<double> rm0 = rm.clone(), rv0 = rv.clone();

    Tape tape;
    Var<double> y = batch_norm(tape.constant(x), tape.constant(gamma), tape.constant(beta), &rm, &rv, true,
                               momentum, eps);
    for (index_t c = 0; c < C; ++c) {
        // Textbook one-pass sums in long double: a different algorithm from the op's two passes in double.
        long double s = 0, s2 = 0;
        for (index_t n = 0; n < N; ++n)
            for (index_t h = 0; h < H; ++h)
                for (index_t w = 0; w < W; ++w) {
                    const long double v = x.at(n, c, h, w);
                    s += v;
                    s2 += v * v;
                }
        const double mean = static_cast<double>(s / M);
        const double biased = static_cast<double>((s2 - s * s / M) / M);
        const double unbiased = biased * M / (M - 1);
        CHECK(rm[c] == Approx((1 - momentum) * rm0[c] + momentum * mean).epsilon(1e-12));
        CHECK(rv[c] == Approx((1 - momentum) * rv0[c] + momentum * unbiased).epsilon(1e-12));
        const double inv_std = 1.0 / std::sqrt(biased + eps);
        for (index_t n = 0; n < N; ++n)
            for (index_t h = 0; h < H; ++h)
                for (index_t w = 0; w < W; ++w) {
                    const double expected = gamma[c] * (x.at(n, c, h, w) - mean) * inv_std + beta[c];
                    CHECK(y.value()[((n * C + c) * H + h) * W + w] == Approx(expected).epsilon(1e-12));
                }
    }
}

TEST_CASE("batch_norm evaluation mode uses and keeps the running statistics", "[ops][batch_norm]") {
    Tensor<double> x = normal_tensor({2, 3}, 21);
    Tensor<double> rm(Shape{3}, {0.5, -1.0, 2.0}), rv(Shape{3}, {4.0, 0.25, 1.0});
    Tape tape;
    Var<double> y = batch_norm(tape.constant(x), Var<double>{}, Var<double>{}, &rm, &rv, false, 0.1, 0.0);
    for (index_t n = 0; n < 2; ++n)
        for (index_t c = 0; c < 3; ++c)
            CHECK(y.value()[n * 3 + c] == Approx((x.at(n, c) - rm[c]) / std::sqrt(rv[c])).epsilon(1e-14));
    CHECK(rm[1] == -1.0);
    CHECK(rv[1] == 0.25);
}

TEST_CASE("batch_norm is stable in float for inputs with a large offset", "[ops][batch_norm]") {
    // Values around 1000 with spread 1: a one-pass E[x^2] - E[x]^2 in float would lose every digit.
    Tensor<float> xf = normal_tensor({4, 3, 5, 5}, 31, 1000.0, 1.0).cast<float>();
    Tensor<double> xd = xf.cast<double>();
    Tensor<float> rmf(Shape{3}), rvf(Shape{3}, 1.0f);
    Tensor<double> rmd(Shape{3}), rvd(Shape{3}, 1.0);
    Tape tape;
    Var<float> yf = batch_norm(tape.constant(xf), Var<float>{}, Var<float>{}, &rmf, &rvf, true);
    Var<double> yd = batch_norm(tape.constant(xd), Var<double>{}, Var<double>{}, &rmd, &rvd, true);
    CHECK(max_rel_diff(yf.value(), yd.value()) < 1e-6);
    CHECK(max_rel_diff(rmf, rmd) < 1e-6);
    CHECK(max_rel_diff(rvf, rvd) < 1e-5);
}

TEST_CASE("batch_norm backward passes gradcheck", "[ops][batch_norm][gradcheck]") {
    Tensor<double> x4 = normal_tensor({3, 5, 3, 5}, 41, 0.5, 2.0);
    Tensor<double> x2 = normal_tensor({7, 3}, 42);
    Tensor<double> g5 = positive_tensor({5}, 43), b5 = normal_tensor({5}, 44);
    Tensor<double> g3 = positive_tensor({3}, 45), b3 = normal_tensor({3}, 46);
    Tensor<double> rm5 = normal_tensor({5}, 47), rv5 = positive_tensor({5}, 48);
    Tensor<double> rm3 = normal_tensor({3}, 49), rv3 = positive_tensor({3}, 50);

    SECTION("training, affine, [N,C,H,W] and [N,C]") {
        auto f = [](Tape&, const std::vector<Var<double>>& v) {
            return batch_norm(v[0], v[1], v[2], nullptr, nullptr, true, 0.1, 1e-3);
        };
        CHECK(gradcheck(f, {&x4, &g5, &b5}).passed);
        CHECK(gradcheck(f, {&x2, &g3, &b3}).passed);
    }
    SECTION("training and evaluation on small maps (sample by sample), more than one block of samples") {
        Tensor<double> small = normal_tensor({19, 3, 2, 2}, 51, 0.5, 2.0);
        Tensor<double> tiny = normal_tensor({20, 3, 1, 1}, 52);
        auto train = [](Tape&, const std::vector<Var<double>>& v) {
            return batch_norm(v[0], v[1], v[2], nullptr, nullptr, true, 0.1, 1e-3);
        };
        auto eval = [&](Tape&, const std::vector<Var<double>>& v) {
            return batch_norm(v[0], v[1], v[2], &rm3, &rv3, false);
        };
        auto twice = [](Tape&, const std::vector<Var<double>>& v) {  // dx added to the gradient add wrote
            return add(batch_norm(v[0], v[1], v[2], nullptr, nullptr, true), v[0]);
        };
        for (Tensor<double>* x : {&small, &tiny}) {
            CHECK(gradcheck(train, {x, &g3, &b3}).passed);
            CHECK(gradcheck(eval, {x, &g3, &b3}).passed);
            CHECK(gradcheck(twice, {x, &g3, &b3}).passed);
        }
    }
    SECTION("training, no affine, with running statistics") {
        Tensor<double> rm = rm5.clone(), rv = rv5.clone();
        auto f = [&](Tape&, const std::vector<Var<double>>& v) {
            return batch_norm(v[0], Var<double>{}, Var<double>{}, &rm, &rv, true);
        };
        CHECK(gradcheck(f, {&x4}).passed);
        auto g = [](Tape&, const std::vector<Var<double>>& v) {
            return batch_norm(v[0], Var<double>{}, Var<double>{}, nullptr, nullptr, true);
        };
        CHECK(gradcheck(g, {&x2}).passed);
    }
    SECTION("training, gamma only and beta only") {
        auto gamma_only = [](Tape&, const std::vector<Var<double>>& v) {
            return batch_norm(v[0], v[1], Var<double>{}, nullptr, nullptr, true);
        };
        auto beta_only = [](Tape&, const std::vector<Var<double>>& v) {
            return batch_norm(v[0], Var<double>{}, v[1], nullptr, nullptr, true);
        };
        CHECK(gradcheck(gamma_only, {&x4, &g5}).passed);
        CHECK(gradcheck(beta_only, {&x2, &b3}).passed);
    }
    SECTION("evaluation, with and without affine") {
        auto f5 = [&](Tape&, const std::vector<Var<double>>& v) {
            return batch_norm(v[0], v[1], v[2], &rm5, &rv5, false);
        };
        auto f3 = [&](Tape&, const std::vector<Var<double>>& v) {
            return batch_norm(v[0], Var<double>{}, Var<double>{}, &rm3, &rv3, false);
        };
        CHECK(gradcheck(f5, {&x4, &g5, &b5}).passed);
        CHECK(gradcheck(f3, {&x2}).passed);
    }
    SECTION("input used twice: batch_norm(x) + x") {
        auto train = [](Tape&, const std::vector<Var<double>>& v) {
            return add(batch_norm(v[0], v[1], v[2], nullptr, nullptr, true), v[0]);
        };
        auto eval = [&](Tape&, const std::vector<Var<double>>& v) {
            return add(batch_norm(v[0], v[1], v[2], &rm5, &rv5, false), v[0]);
        };
        CHECK(gradcheck(train, {&x4, &g5, &b5}).passed);
        CHECK(gradcheck(eval, {&x4, &g5, &b5}).passed);
    }
}

TEST_CASE("batch_norm records one node, none under NoGradGuard, and still updates running stats",
          "[ops][batch_norm]") {
    Tensor<double> x = normal_tensor({4, 2}, 61);
    Tensor<double> rm(Shape{2}), rv(Shape{2}, 1.0);
    Tape tape;
    Var<double> y = batch_norm(tape.variable(x), Var<double>{}, Var<double>{}, &rm, &rv, true);
    REQUIRE(tape.node_count() == 1);
    CHECK(std::string(tape.node_name(0)) == "batch_norm");
    CHECK(y.requires_grad());
    const double after_one = rm[0];
    CHECK(after_one != 0.0);
    {
        NoGradGuard guard(tape);
        Var<double> z = batch_norm(tape.variable(x), Var<double>{}, Var<double>{}, &rm, &rv, true);
        CHECK_FALSE(z.requires_grad());
    }
    CHECK(tape.node_count() == 1);
    CHECK(rm[0] == Approx(0.9 * after_one + after_one));  // the same batch mean folded in a second time
}

TEST_CASE("batch_norm rejects bad shapes and arguments with clear messages", "[ops][batch_norm]") {
    Tape tape;
    Tensor<float> x3(Shape{2, 3, 4}), x(Shape{2, 3, 2, 2}), one(Shape{1, 3}), one4(Shape{1, 3, 1, 1});
    Tensor<float> c3(Shape{3}), c4(Shape{4});
    Var<float> none;
    CHECK_THROWS_AS(batch_norm(tape.constant(x3), none, none, nullptr, nullptr, true), ShapeError);
    CHECK_THROWS_WITH(batch_norm(tape.constant(x3), none, none, nullptr, nullptr, true),
                      Catch::Contains("batch_norm") && Catch::Contains("[2, 3, 4]"));
    CHECK_THROWS_WITH(batch_norm(tape.constant(x), tape.constant(c4), none, nullptr, nullptr, true),
                      Catch::Contains("weight") && Catch::Contains("[4]") && Catch::Contains("[2, 3, 2, 2]"));
    CHECK_THROWS_AS(batch_norm(tape.constant(x), none, tape.constant(c4), nullptr, nullptr, true), ShapeError);
    CHECK_THROWS_WITH(batch_norm(tape.constant(x), none, none, &c3, &c4, true),
                      Catch::Contains("running_var") && Catch::Contains("[4]"));
    CHECK_THROWS_AS(batch_norm(tape.constant(x), none, none, &c4, nullptr, true), ShapeError);
    CHECK_THROWS_AS(batch_norm(tape.constant(x), none, none, nullptr, nullptr, false), ArgumentError);
    CHECK_THROWS_WITH(batch_norm(tape.constant(x), none, none, &c3, nullptr, false),
                      Catch::Contains("running_var") && Catch::Contains("evaluation"));
    CHECK_THROWS_AS(batch_norm(tape.constant(one), none, none, nullptr, nullptr, true), ShapeError);
    CHECK_THROWS_WITH(batch_norm(tape.constant(one4), none, none, nullptr, nullptr, true),
                      Catch::Contains("Expected more than 1 value per channel when training") &&
                          Catch::Contains("[1, 3, 1, 1]"));
    CHECK_NOTHROW(batch_norm(tape.constant(one), none, none, &c3, &c3, false));  // eval is fine with N == 1
    CHECK_THROWS_WITH(batch_norm(tape.constant(x), none, none, nullptr, nullptr, true, 1.5),
                      Catch::Contains("momentum") && Catch::Contains("1.5"));
    CHECK_THROWS_AS(batch_norm(tape.constant(x), none, none, nullptr, nullptr, true, 0.1, -1.0), ArgumentError);
    Tape other;
    CHECK_THROWS_AS(batch_norm(tape.constant(x), other.constant(c3), none, nullptr, nullptr, true), ArgumentError);
}

TEST_CASE("batch_norm on a large input (parallel over channels) agrees with one run per channel",
          "[ops][batch_norm]") {
    // 8*3*32*32 = 24576 elements takes the OpenMP path when built with it; each [8,1,32,32] slice does not.
    const index_t N = 8, C = 3, S = 32 * 32;
    Tensor<double> x = normal_tensor({N, C, 32, 32}, 71, 1.0, 2.0);
    Tensor<double> dy = normal_tensor({N, C, 32, 32}, 72);
    Tensor<double> gamma = positive_tensor({C}, 73), beta = normal_tensor({C}, 74);
    Tensor<double> rm(Shape{C}), rv(Shape{C}, 1.0);
    Tape tape;
    Var<double> vx = tape.variable(x), vg = tape.variable(gamma), vb = tape.variable(beta);
    Var<double> y = batch_norm(vx, vg, vb, &rm, &rv, true);
    tape.backward(y, dy.view());
    for (index_t c = 0; c < C; ++c) {
        Tensor<double> xc(Shape{N, 1, 32, 32}), dyc(Shape{N, 1, 32, 32});
        for (index_t n = 0; n < N; ++n)
            for (index_t s = 0; s < S; ++s) {
                xc[n * S + s] = x[(n * C + c) * S + s];
                dyc[n * S + s] = dy[(n * C + c) * S + s];
            }
        Tensor<double> gc(Shape{1}, {gamma[c]}), bc(Shape{1}, {beta[c]}), rmc(Shape{1}), rvc(Shape{1}, 1.0);
        Tape t1;
        Var<double> vxc = t1.variable(xc), vgc = t1.variable(gc), vbc = t1.variable(bc);
        Var<double> yc = batch_norm(vxc, vgc, vbc, &rmc, &rvc, true);
        t1.backward(yc, dyc.view());
        double worst_y = 0, worst_dx = 0;
        for (index_t n = 0; n < N; ++n)
            for (index_t s = 0; s < S; ++s) {
                worst_y = std::max(worst_y, std::abs(y.value()[(n * C + c) * S + s] - yc.value()[n * S + s]));
                worst_dx = std::max(worst_dx, std::abs(vx.grad()[(n * C + c) * S + s] - vxc.grad()[n * S + s]));
            }
        CHECK(worst_y < 1e-12);
        CHECK(worst_dx < 1e-12);
        CHECK(vg.grad()[c] == Approx(vgc.grad()[0]).epsilon(1e-12));
        CHECK(vb.grad()[c] == Approx(vbc.grad()[0]).epsilon(1e-12));
        CHECK(rm[c] == Approx(rmc[0]).epsilon(1e-12));
        CHECK(rv[c] == Approx(rvc[0]).epsilon(1e-12));
    }
}

#ifdef _OPENMP
TEST_CASE("batch_norm on small maps gives the same bits on one and two threads", "[ops][batch_norm][openmp]") {
    // Enough values to be split over threads (detail::bn_rows_parallel_min); the per-element partial sums go by
    // fixed blocks of samples, the last one short here.
    for (const Shape& shape : {Shape{64, 1024, 2, 2}, Shape{300, 1024, 1, 1}}) {
        INFO("input " << shape);
        const index_t C = shape[1];
        const Tensor<float> x = normal_tensor(shape, 81, 0.3, 1.5).cast<float>();
        const Tensor<float> dy = normal_tensor(shape, 82).cast<float>();
        const Tensor<float> gamma = positive_tensor({C}, 83).cast<float>(), beta = normal_tensor({C}, 84).cast<float>();
        struct Result {
            Tensor<float> y, dx, dgamma, dbeta, rm, rv;
        };
        auto run = [&](int threads) {
            const int saved = omp_get_max_threads();
            omp_set_num_threads(threads);
            Result r{Tensor<float>(), Tensor<float>(), Tensor<float>(), Tensor<float>(), Tensor<float>(Shape{C}),
                     Tensor<float>(Shape{C}, 1.0f)};
            Tape tape;
            Var<float> vx = tape.variable(x), vg = tape.variable(gamma), vb = tape.variable(beta);
            Var<float> y = batch_norm(vx, vg, vb, &r.rm, &r.rv, true);
            tape.backward(y, dy.view());
            omp_set_num_threads(saved);
            r.y = y.to_tensor();
            r.dx = Tensor<float>::from(vx.grad());
            r.dgamma = Tensor<float>::from(vg.grad());
            r.dbeta = Tensor<float>::from(vb.grad());
            return r;
        };
        const Result one = run(1), two = run(2);
        CHECK(max_abs_diff(one.y, two.y) == 0.0);
        CHECK(max_abs_diff(one.dx, two.dx) == 0.0);
        CHECK(max_abs_diff(one.dgamma, two.dgamma) == 0.0);
        CHECK(max_abs_diff(one.dbeta, two.dbeta) == 0.0);
        CHECK(max_abs_diff(one.rm, two.rm) == 0.0);
        CHECK(max_abs_diff(one.rv, two.rv) == 0.0);
        // and the statistics against a computation in double
        const Tensor<double> xd = x.cast<double>();
        const index_t N = shape[0], S = shape[2] * shape[3];
        double worst = 0;
        for (index_t c = 0; c < C; ++c) {
            double s = 0;
            for (index_t n = 0; n < N; ++n)
                for (index_t q = 0; q < S; ++q) s += xd[(n * C + c) * S + q];
            worst = std::max(worst, std::abs(one.rm[c] - 0.1 * s / static_cast<double>(N * S)));
        }
        CHECK(worst < 1e-6);
    }
}
#endif
