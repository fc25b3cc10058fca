// The entry points a new user reaches first: a module's default name, its printing, direct forward() calls that
// keep the module path in shape errors, and summary() without and with an input shape.
#include <catch2/catch.hpp>

#include <sstream>

#include "strata/nn/activation.hpp"
#include "strata/nn/aux_head.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"
#include "strata/nn/summary.hpp"

using namespace strata;
using namespace strata::nn;

namespace {
/// A custom module as a LibTorch user writes it: no type_name() override, children called with ->forward().
struct SmallNet : Module<float> {
    SmallNet() {
        conv1 = &register_module("conv1", make<Conv2d<float>>(Conv2dOptions(1, 4, 3).padding(1)));
        pool = &register_module("pool", make<GlobalAvgPool2d<float>>());
        flat = &register_module("flat", make<Flatten<float>>());
        fc = &register_module("fc", make<Linear<float>>(LinearOptions(4, 3)));
        scale = &register_parameter("scale", Tensor<float>(Shape{1}, 1.0f));
    }
    Var<float> forward(const Var<float>& x) override {
        return fc->forward(flat->forward(pool->forward(relu(conv1->forward(x)))));
    }
    Conv2d<float>* conv1;
    GlobalAvgPool2d<float>* pool;
    Flatten<float>* flat;
    Linear<float>* fc;
    Parameter<float>* scale;
};

template <class T>
struct Templated : Module<T> {
    Var<T> forward(const Var<T>& x) override { return x; }
};

/// Wraps SmallNet and adds an auxiliary head, so that summary() meets a module that eval mode skips.
struct WithHead : Module<float> {
    WithHead() {
        body = &register_module("body", make<SmallNet>());
        tap = &register_module("tap", make_aux_head<float>(AuxHeadOptions(1, 3)));
    }
    Var<float> forward(const Var<float>& x) override { return (*body)((*tap)(x)); }
    SmallNet* body;
    AuxHead<float>* tap;
};

std::string shape_error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ShapeError& e) {
        return e.what();
    }
    return "no ShapeError";
}
}  // namespace

TEST_CASE("A module's type name defaults to its class name", "[nn][entry]") {
    SmallNet net;
    CHECK(net.type_name() == "SmallNet");
    CHECK(net.name() == "SmallNet");  // LibTorch's spelling
    CHECK(Templated<double>().type_name() == "Templated");
    CHECK(net.fc->type_name() == "Linear");
    CHECK(net.pool->type_name() == "GlobalAvgPool2d");
    CHECK(nn::detail::short_type_name(typeid(std::vector<std::pair<int, float>>)) == "vector");
}

TEST_CASE("Direct forward() calls keep the module path in shape errors", "[nn][entry]") {
    WithHead net;
    net.eval();
    Tape tape;
    Tensor<float> wrong(Shape{2, 2, 6, 6});  // conv1 wants 1 channel
    // Through the root's forward() (no operator() anywhere above conv1): conv1's own path and type.
    const std::string direct = shape_error_of([&] { net.forward(tape.constant(wrong)); });
    CHECK_THAT(direct, Catch::StartsWith("in module 'body.conv1' (Conv2d): "));
    CHECK_THAT(direct, Catch::Contains("[2, 2, 6, 6]"));
    // And a leaf called on its own.
    const std::string leaf = shape_error_of([&] { net.body->fc->forward(tape.constant(wrong)); });
    CHECK_THAT(leaf, Catch::StartsWith("in module 'body.fc' (Linear): "));
    // The path is not added twice when operator() and forward() both run.
    const std::string call = shape_error_of([&] { net(tape.constant(wrong)); });
    CHECK(call == direct);
}

TEST_CASE("operator<< prints the module tree with each layer's options", "[nn][entry]") {
    SmallNet net;
    std::ostringstream out;
    out << net;
    CHECK(out.str() ==
          "SmallNet(\n"
          "  (conv1): Conv2d(1, 4, kernel_size=3, stride=1, padding=1, bias=true)\n"
          "  (pool): GlobalAvgPool2d\n"
          "  (flat): Flatten\n"
          "  (fc): Linear(in_features=4, out_features=3, bias=true)\n"
          ")");
    Sequential<float> seq;
    seq.push_back(make<BatchNorm2d<float>>(BatchNormOptions(2)));
    seq.push_back(make<MaxPool2d<float>>(Pool2dOptions(3).stride(2).padding(1)));
    std::ostringstream s2;
    s2 << seq;
    CHECK(s2.str() ==
          "Sequential(\n"
          "  (0): BatchNorm2d(2, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)\n"
          "  (1): MaxPool2d(kernel_size=3, stride=2, padding=1)\n"
          ")");
}

TEST_CASE("summary() rows add up to the total, with or without an input shape", "[nn][summary]") {
    WithHead net;
    const index_t total = net.parameter_count();
    for (const Summary& s : {summary(net), summary(net, Shape{2, 1, 6, 6})}) {
        index_t sum = 0;
        for (const SummaryRow& r : s.rows) sum += r.parameters;
        CHECK(sum == total);
        CHECK(s.total_parameters == total);
        CHECK(s.trainable_parameters == total);
        std::vector<std::string> paths;
        for (const SummaryRow& r : s.rows) paths.push_back(r.path);
        // The root has a parameter of its own ("body" does: scale), the aux head's layers are listed.
        CHECK(paths == std::vector<std::string>{"body", "body.conv1", "body.pool", "body.flat", "body.fc",
                                                "tap.head.pool", "tap.head.flatten", "tap.head.fc"});
    }
    const Summary s = summary(net, Shape{2, 1, 6, 6});
    CHECK(s.rows[1].output_shape == Shape{2, 4, 6, 6});
    CHECK(s.rows[2].output_shape == Shape{2, 4, 1, 1});
    CHECK(s.rows[2].type == "GlobalAvgPool2d");
    CHECK_FALSE(s.rows[5].output_shape.has_value());  // the aux head does not run in eval mode
    CHECK(net.is_training());                          // mode restored
    const std::string text = s;
    CHECK_THAT(text, Catch::Contains("Total params: " + std::to_string(total)));
    CHECK_THAT(text, Catch::Contains("not run in evaluation mode"));
    CHECK_THAT(text, Catch::Contains("[2, 4, 6, 6]"));
    std::ostringstream streamed;
    streamed << summary(net);
    CHECK_THAT(streamed.str(), Catch::Contains("tap.head.fc"));
    CHECK_THAT(streamed.str(), !Catch::Contains("Output Shape"));
    net.body->scale->requires_grad = false;
    CHECK(summary(net).trainable_parameters == total - 1);
}
