// Tests of nn/sequential.hpp: children named "0", "1", ... or by the given name, forward in order (equal to
// composing the children by hand), indexing, emplace, and errors for taken names, null modules and bad indices.

#include <catch2/catch.hpp>

#include <stdexcept>

#include "strata/nn/activation.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"

using namespace strata;
using namespace strata::nn;

TEST_CASE("Sequential names its children and runs them in order", "[nn][sequential]") {
    Sequential<double> seq;
    auto& fc1 = seq.push_back(make<Linear<double>>(LinearOptions(4, 6)));
    seq.emplace<ReLU<double>>();
    auto& fc2 = seq.push_back("out", make<Linear<double>>(LinearOptions(6, 2)));
    CHECK(seq.size() == 3);
    std::vector<std::string> names;
    for (auto& np : seq.named_parameters()) names.push_back(np.name);
    CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "out.weight", "out.bias"});
    CHECK(&seq[0] == &fc1);
    CHECK(seq[1].type_name() == "ReLU");
    CHECK(&seq[2] == &fc2);
    CHECK(fc2.path() == "out");
    Tensor<double> x(Shape{3, 4});
    Generator g(4);
    x.fill_normal(g);
    Tape tape;
    const Var<double> v = tape.constant(x);
    const Var<double> y = seq(v);
    const Var<double> by_hand = fc2(relu(fc1(v)));
    CHECK(y.value().array().isApprox(by_hand.value().array(), 0.0));
    // An empty Sequential is the identity.
    Sequential<double> empty;
    CHECK(empty(v).value().array().isApprox(x.array(), 0.0));
}

TEST_CASE("Sequential refuses taken names and null modules, and a bad index", "[nn][sequential]") {
    Sequential<float> seq;
    seq.push_back("a", make<ReLU<float>>());
    CHECK_THROWS_WITH(seq.push_back("a", make<ReLU<float>>()), Catch::Contains("name 'a' registered twice"));
    CHECK_THROWS_WITH(seq.push_back(std::unique_ptr<ReLU<float>>()), Catch::Contains("null module"));
    CHECK_THROWS_AS(seq[5], std::out_of_range);
    CHECK(seq.size() == 1);
}

TEST_CASE("A shape error inside a Sequential names the failing child", "[nn][sequential]") {
    Sequential<float> root;
    auto& inner = root.push_back("block", make<Sequential<float>>());
    inner.push_back(make<Linear<float>>(LinearOptions(4, 3)));
    inner.push_back(make<Linear<float>>(LinearOptions(5, 2)));  // 3 != 5
    Tape tape;
    Tensor<float> x(Shape{2, 4});
    CHECK_THROWS_WITH(root(tape.constant(x)), Catch::Contains("block.1") && Catch::Contains("Linear"));
}
