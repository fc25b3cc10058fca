#include <catch2/catch.hpp>

#include "strata/nn/activation.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/nn/dropout.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"
#include "strata/nn/summary.hpp"

using namespace strata;
using namespace strata::nn;

namespace {
/// A small model with nested children, to check names, modes and errors.
template <class T>
struct TinyNet : Module<T> {
    TinyNet() {
        features = &this->register_module("features", make<Sequential<T>>());
        features->push_back(make<Conv2d<T>>(Conv2dOptions(1, 4, 3).padding(1).bias(false)));
        features->push_back(make<BatchNorm2d<T>>(BatchNormOptions(4)));
        features->push_back(make<ReLU<T>>());
        features->push_back(make<MaxPool2d<T>>(Pool2dOptions(2)));
        features->push_back(make<Flatten<T>>());
        drop = &this->register_module("drop", make<Dropout<T>>(0.5));
        fc = &this->register_module("fc", make<Linear<T>>(LinearOptions(4 * 3 * 3, 5)));
    }
    Var<T> forward(const Var<T>& x) override { return (*fc)((*drop)((*features)(x))); }
    std::string type_name() const override { return "TinyNet"; }
    Sequential<T>* features;
    Dropout<T>* drop;
    Linear<T>* fc;
};
}  // namespace

TEST_CASE("Modules register parameters and buffers under dotted names", "[nn][module]") {
    TinyNet<float> net;
    std::vector<std::string> names;
    for (auto& np : net.named_parameters()) names.push_back(np.name);
    CHECK(names == std::vector<std::string>{"features.0.weight", "features.1.weight", "features.1.bias", "fc.weight",
                                            "fc.bias"});
    std::vector<std::string> buffers;
    for (auto& nb : net.named_buffers()) buffers.push_back(nb.name);
    CHECK(buffers == std::vector<std::string>{"features.1.running_mean", "features.1.running_var",
                                              "features.1.num_batches_tracked"});
    CHECK(net.parameter_count() == 4 * 9 + 4 + 4 + 36 * 5 + 5);
    CHECK(net.features->path() == "features");
    CHECK((*net.features)[0].path() == "features.0");
}

TEST_CASE("train() and eval() reach every descendant", "[nn][module]") {
    TinyNet<float> net;
    CHECK((*net.features)[1].is_training());
    net.eval();
    for (auto& [path, m] : net.named_modules()) CHECK_FALSE(m->is_training());
    net.train();
    for (auto& [path, m] : net.named_modules()) CHECK(m->is_training());
}

TEST_CASE("Forward, backward and zero_grad through a module tree", "[nn][module]") {
    manual_seed(1);
    TinyNet<double> net;
    Tensor<double> x(Shape{2, 1, 6, 6});
    Generator g(3);
    x.fill_normal(g);
    Tape tape;
    auto y = net(tape.constant(x));
    CHECK(y.shape() == Shape{2, 5});
    tape.backward(y, Tensor<double>(Shape{2, 5}, 1.0).view());
    double total = 0;
    for (auto* p : net.parameters()) total += p->grad().array().abs().sum();
    CHECK(total > 0);
    net.zero_grad();
    for (auto* p : net.parameters()) CHECK(p->grad().array().abs().sum() == 0);
}

TEST_CASE("Shape errors inside a model name the module path and both shapes", "[nn][module]") {
    TinyNet<float> net;
    Tape tape;
    Tensor<float> wrong(Shape{2, 3, 6, 6});  // 3 channels, conv expects 1
    try {
        net(tape.constant(wrong));
        FAIL("no exception");
    } catch (const ShapeError& e) {
        const std::string msg = e.what();
        CHECK(msg.find("features.0") != std::string::npos);
        CHECK(msg.find("Conv2d") != std::string::npos);
        CHECK(msg.find("[2, 3, 6, 6]") != std::string::npos);
    }
}

TEST_CASE("Registration refuses duplicate and dotted names", "[nn][module]") {
    struct Bad : Module<float> {
        explicit Bad(int variant) {
            register_parameter("w", Tensor<float>(Shape{1}));
            if (variant == 0) register_parameter("w", Tensor<float>(Shape{1}));
            if (variant == 1) register_buffer("a.b", Tensor<float>(Shape{1}));
        }
        Var<float> forward(const Var<float>& x) override { return x; }
        std::string type_name() const override { return "Bad"; }
    };
    CHECK_THROWS_WITH(Bad(0), Catch::Contains("'w' registered twice"));
    CHECK_THROWS_WITH(Bad(1), Catch::Contains("invalid name 'a.b'"));
}

TEST_CASE("Layer options use PyTorch's defaults and validate", "[nn][module]") {
    Conv2dOptions o(3, 8, 3);
    CHECK(o.stride() == 1);
    CHECK(o.padding() == 0);
    CHECK(o.bias());
    CHECK(Pool2dOptions(3).stride() == 3);
    CHECK(BatchNormOptions(4).momentum() == 0.1);
    CHECK_THROWS_WITH(Conv2d<float>(Conv2dOptions(3, 0, 3)), Catch::Contains("out 0"));
    CHECK_THROWS_WITH(Linear<float>(LinearOptions(-1, 2)), Catch::Contains("-1"));
    CHECK_THROWS_WITH(Dropout<float>(1.5), Catch::Contains("1.5"));
    // PyTorch's default init bounds: +-1/sqrt(fan_in)
    manual_seed(7);
    Linear<float> fc(LinearOptions(100, 50));
    CHECK(fc.weight().value.array().abs().maxCoeff() <= 0.1f);
    CHECK(fc.weight().value.array().abs().maxCoeff() > 0.09f);
}

TEST_CASE("Construction is reproducible after manual_seed", "[nn][module]") {
    manual_seed(42);
    TinyNet<float> a;
    manual_seed(42);
    TinyNet<float> b;
    TinyNet<float> c;
    CHECK(a.fc->weight().value.array().isApprox(b.fc->weight().value.array()));
    CHECK_FALSE(a.fc->weight().value.array().isApprox(c.fc->weight().value.array()));
}

TEST_CASE("summary lists every leaf with its output shape and parameter count", "[nn][summary]") {
    TinyNet<float> net;
    const std::string s = summary(net, Shape{1, 1, 6, 6});
    CHECK(s.find("features.0") != std::string::npos);
    CHECK(s.find("[1, 4, 6, 6]") != std::string::npos);
    CHECK(s.find("[1, 4, 3, 3]") != std::string::npos);
    CHECK(s.find("[1, 5]") != std::string::npos);
    CHECK(s.find("Total params: 229") != std::string::npos);
    CHECK(net.is_training());  // mode restored
    CHECK_THROWS_AS(summary(net, Shape{1, 2, 6, 6}), ShapeError);
}
