#include <catch2/catch.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ops/op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"
#include "strata/ops/mul.hpp"
#include "strata/ops/relu.hpp"

using namespace strata;
using strata::test::random_tensor;
using strata::test::random_tensor_away_from_zero;

TEMPLATE_TEST_CASE("relu keeps positives and zeroes the rest", "[ops][relu]", float, double) {
    using T = TestType;
    Tape tape;
    const auto a = random_tensor<T>({3, 4, 5}, 1);
    auto y = relu(tape.constant(a));
    REQUIRE(y.shape() == a.shape());
    for (index_t i = 0; i < a.numel(); ++i) CHECK(y.value()[i] == (a[i] > 0 ? a[i] : T(0)));
}

TEST_CASE("relu gradient is dout where x > 0 and 0 at x <= 0 (including exactly 0)", "[ops][relu]") {
    Tape tape;
    Tensor<double> x0(Shape{5}, {-1.5, 0.0, -0.0, 2.0, 1e-300});
    Tensor<double> seed(Shape{5}, {1, 2, 3, 4, 5});
    auto x = tape.variable(x0);
    tape.backward(relu(x), seed.view());
    CHECK(x.grad()[0] == 0);
    CHECK(x.grad()[1] == 0);
    CHECK(x.grad()[2] == 0);
    CHECK(x.grad()[3] == 4);
    CHECK(x.grad()[4] == 5);
}

TEST_CASE("relu records nothing for constants or under NoGradGuard", "[ops][relu]") {
    Tape tape;
    Tensor<float> x0(Shape{2}, {-1, 1});
    CHECK_FALSE(relu(tape.constant(x0)).requires_grad());
    auto x = tape.variable(x0);
    {
        NoGradGuard guard(tape);
        CHECK_FALSE(relu(x).requires_grad());
    }
    CHECK(tape.node_count() == 0);
    CHECK(relu(x).requires_grad());
    CHECK(tape.node_count() == 1);
}

TEST_CASE("relu passes gradcheck", "[ops][relu][gradcheck]") {
    auto a = random_tensor_away_from_zero({3, 2, 5, 7}, 11);
    auto odd = random_tensor_away_from_zero({9}, 12);
    auto f = [](Tape&, const std::vector<Var<double>>& v) { return relu(v[0]); };
    CHECK(gradcheck(f, {&a}).passed);
    CHECK(gradcheck(f, {&odd}).passed);
    // used twice: relu(x) * x + relu(x)
    auto twice = [](Tape&, const std::vector<Var<double>>& v) {
        auto r = relu(v[0]);
        return add(mul(r, v[0]), r);
    };
    CHECK(gradcheck(twice, {&a}).passed);
}

#ifdef _OPENMP
TEST_CASE("relu and add split over two threads give what one thread gives, exactly", "[ops][relu][openmp]") {
    // Large enough to be split (parallel_split), with a length that is no multiple of 16; each gradient both
    // written fresh (the first to reach a value) and added to (the value used twice).
    const index_t n = 4 * strata::detail::elementwise_split_min + 37;
    const auto x0 = random_tensor<float>({n}, 21);
    const auto seed = random_tensor<float>({n}, 22);
    auto run = [&](int threads) {
        const int saved = omp_get_max_threads();
        omp_set_num_threads(threads);
        Tape tape;
        auto x = tape.variable(x0);
        auto r = relu(x);
        auto y = add(add(r, r), relu(x));  // add's backward copies, then adds; relu's writes, then adds
        tape.backward(y, seed.view());
        omp_set_num_threads(saved);
        return std::make_pair(y.to_tensor(), Tensor<float>::from(x.grad()));
    };
    const auto one = run(1), two = run(2);
    for (index_t i = 0; i < n; ++i) {
        const float r = x0[i] > 0 ? x0[i] : 0.0f;
        const float g = x0[i] > 0 ? seed[i] + (seed[i] + seed[i]) : 0.0f;
        if (one.first[i] != (r + r) + r || one.second[i] != g) FAIL("element " << i << " differs from the reference");
    }
    CHECK(test::max_abs_diff(one.first, two.first) == 0.0);
    CHECK(test::max_abs_diff(one.second, two.second) == 0.0);
}
#endif
