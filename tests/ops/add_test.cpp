#include <catch2/catch.hpp>

#include "op_test_util.hpp"
#include "strata/autograd/gradcheck.hpp"
#include "strata/ops/add.hpp"

using namespace strata;
using strata::test::random_tensor;

TEST_CASE("add forward with broadcasting", "[ops][add]") {
    Tape tape;
    Tensor<float> a(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor<float> b(Shape{3}, {10, 20, 30});
    Tensor<float> c(Shape{2, 1}, {100, 200});
    auto ab = add(tape.constant(a), tape.constant(b));
    CHECK(ab.shape() == Shape{2, 3});
    CHECK(ab.value()[4] == 25);
    auto ac = tape.constant(a) + tape.constant(c);
    CHECK(ac.value()[0] == 101);
    CHECK(ac.value()[5] == 206);
    auto bc = add(tape.constant(b), tape.constant(c));  // [3] + [2,1] -> [2,3]
    CHECK(bc.shape() == Shape{2, 3});
    CHECK(bc.value()[3] == 210);
}

TEST_CASE("add rejects shapes that do not broadcast, naming both", "[ops][add]") {
    Tape tape;
    Tensor<float> a(Shape{2, 3}), b(Shape{2});
    CHECK_THROWS_WITH(add(tape.constant(a), tape.constant(b)),
                      Catch::Contains("[2, 3]") && Catch::Contains("[2]") && Catch::Contains("add"));
}

TEST_CASE("add backward passes gradcheck, same shape and broadcast", "[ops][add][gradcheck]") {
    auto f = [](Tape&, const std::vector<Var<double>>& v) { return add(v[0], v[1]); };
    auto a = random_tensor({2, 3, 4, 5}, 1);
    auto same = random_tensor({2, 3, 4, 5}, 2);
    auto bias = random_tensor({1, 3, 1, 1}, 3);
    auto row = random_tensor({5}, 4);
    CHECK(gradcheck(f, {&a, &same}).passed);
    CHECK(gradcheck(f, {&a, &bias}).passed);
    CHECK(gradcheck(f, {&row, &a}).passed);
    auto twice = [](Tape&, const std::vector<Var<double>>& v) { return add(add(v[0], v[1]), v[0]); };
    CHECK(gradcheck(twice, {&a, &bias}).passed);
}
