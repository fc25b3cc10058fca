// Tests of nn/summary.hpp: one row per leaf in forward order with its output shape and parameter count, totals
// split by requires_grad, the model's mode and the caller's tape left alone, and a wrong input shape named.

#include <catch2/catch.hpp>

#include "strata/nn/activation.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"
#include "strata/nn/summary.hpp"

using namespace strata;
using namespace strata::nn;

TEST_CASE("summary rows follow the forward with shapes and counts; totals split trainable", "[nn][summary]") {
    Sequential<float> net;
    net.push_back("flat", make<Flatten<float>>());
    net.push_back("fc1", make<Linear<float>>(LinearOptions(12, 7)));
    net.push_back("act", make<ReLU<float>>());
    auto& fc2 = net.push_back("fc2", make<Linear<float>>(LinearOptions(7, 3)));
    fc2.weight().requires_grad = false;  // frozen: counted as non-trainable
    net.eval();
    const std::string s = summary(net, Shape{2, 3, 2, 2});
    const auto flat = s.find("flat"), fc1 = s.find("fc1"), act = s.find("act"), out = s.find("fc2");
    REQUIRE(flat != std::string::npos);
    REQUIRE(out != std::string::npos);
    CHECK(flat < fc1);
    CHECK(fc1 < act);
    CHECK(act < out);
    CHECK(s.find("[2, 12]") != std::string::npos);
    CHECK(s.find("[2, 3]") != std::string::npos);
    CHECK(s.find("91") != std::string::npos);  // fc1: 12 * 7 + 7
    CHECK(s.find("Total params: 115") != std::string::npos);
    CHECK(s.find("Trainable params: 94") != std::string::npos);
    CHECK(s.find("Non-trainable params: 21") != std::string::npos);
    CHECK_FALSE(net.is_training());  // the mode it had
    CHECK_THROWS_WITH(summary(net, Shape{2, 5}), Catch::Contains("fc1"));
}
