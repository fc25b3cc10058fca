// Tests of core/options.hpp: STRATA_ARG's setters chain and return the options object, getters read back, and a
// default member initialiser gives the default.

#include <catch2/catch.hpp>

#include <string>
#include <type_traits>
#include <vector>

#include "strata/core/options.hpp"

namespace {
struct ExampleOptions {
    explicit ExampleOptions(int width) : width_(width) {}
    STRATA_ARG(int, width);
    STRATA_ARG(double, rate) = 0.5;
    STRATA_ARG(std::string, name) = "default";
    STRATA_ARG(std::vector<int>, sizes);
};
}  // namespace

TEST_CASE("STRATA_ARG setters chain and getters read back, with defaults", "[nn][options]") {
    const ExampleOptions d(3);
    CHECK(d.width() == 3);
    CHECK(d.rate() == 0.5);
    CHECK(d.name() == "default");
    CHECK(d.sizes().empty());
    const ExampleOptions o = ExampleOptions(3).rate(0.25).name("x").sizes({1, 2}).width(7);
    CHECK(o.width() == 7);
    CHECK(o.rate() == 0.25);
    CHECK(o.name() == "x");
    CHECK(o.sizes() == std::vector<int>{1, 2});
    ExampleOptions m(1);
    CHECK(&m.rate(2.0) == &m);  // the setter returns the object itself, not a copy
    static_assert(std::is_same_v<decltype(d.rate()), const double&>, "getters return const references");
}
