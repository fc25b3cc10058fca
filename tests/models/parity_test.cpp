// Parity of strata's residual blocks and ResNet/plain nets with PyTorch (fixtures written by
// tests/fixtures/generate_models.py): same state, forward in train and eval mode, backward from a fixed upstream
// gradient; output, input gradient, every parameter gradient and the updated running statistics must agree.
// Also: parameter counts of the factories against torchvision's and the peer workload's nets.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <type_traits>

#include "fixture_models.hpp"
#include "strata/models/resnet.hpp"
#include "support/module_fixture.hpp"

using namespace strata;
using namespace strata::models;
using strata::test::Fixture;
using strata::test::BlockCase;
using strata::test::kFixtureBlocks;
using strata::test::make_fixture_block;
using strata::test::make_fixture_model;
using strata::test::NamedDiff;

namespace {

/// Largest accepted max_rel_diff (relative to the reference tensor's largest magnitude). Double agrees to
/// ~1e-14..1e-12 (the fixtures' results carry 14 significant digits), so 1e-9 leaves a wide margin while
/// still catching any formula slip; float agrees to ~1e-4 at worst (Plain-18's training-mode gradients).
template <class T>
constexpr double tolerance() {
    return std::is_same_v<T, double> ? 1e-9 : 1e-3;
}

/// The worst differences of one run, for the optional report (STRATA_PARITY_REPORT=1 prints one line per run).
struct RunDiffs {
    double output = 0, grad_input = 0, grad_params = 0, buffers = 0;
};

/// Loads `file` into `module`, runs forward in the fixture's mode and backward from its upstream gradient, and
/// checks everything the fixture holds against tolerance<T>().
template <class T>
void check_against_fixture(nn::Module<T>& module, const std::string& file, bool train) {
    const Fixture fx(file);
    INFO("fixture " << file << (std::is_same_v<T, double> ? " in double" : " in float"));
    const double tol = tolerance<T>();
    RunDiffs r;

    std::string extra;
    for (const auto& n : test::unexpected_state_names(module, file)) extra += " " + n;
    INFO("state in the PyTorch module that strata's lacks:" << extra);
    CHECK(extra.empty());
    test::load_module_state(module, fx);
    module.train(train);
    module.zero_grad();

    Tape tape;
    const Tensor<T> x = fx.get<T>("input");
    const Var<T> xv = tape.variable(x);
    const Var<T> y = module(xv);
    r.output = test::max_rel_diff(y.value(), fx.get("output"));
    CHECK(r.output <= tol);

    const Tensor<T> seed = fx.get<T>("grad_output");
    tape.backward(y, seed.view());
    r.grad_input = test::max_rel_diff(xv.grad(), fx.get("grad.input"));
    CHECK(r.grad_input <= tol);

    for (const NamedDiff& d : test::parameter_grad_diffs(module, fx)) {
        INFO("gradient of " << d.name);
        CHECK(d.rel <= tol);
        r.grad_params = std::max(r.grad_params, d.rel);
    }
    // Training mode updates the running statistics as PyTorch does; evaluation mode leaves them as loaded.
    for (const NamedDiff& d : test::buffer_diffs(module, fx, train ? "after." : "")) {
        INFO("buffer " << d.name << " after the " << (train ? "training" : "evaluation") << "-mode forward");
        CHECK(d.rel <= tol);
        r.buffers = std::max(r.buffers, d.rel);
    }
    if (std::getenv("STRATA_PARITY_REPORT"))
        std::printf("%-44s %-6s output %.1e  grad.input %.1e  grad.params %.1e  running stats %.1e\n", file.c_str(),
                    std::is_same_v<T, double> ? "double" : "float", r.output, r.grad_input, r.grad_params, r.buffers);
}

template <class T>
void check_blocks() {
    for (const BlockCase& c : kFixtureBlocks)
        for (bool train : {true, false}) {
            auto block = make_fixture_block<T>(c);
            check_against_fixture(*block, std::string("block_") + c.name + (train ? "_train" : "_eval") + ".txt",
                                  train);
        }
}

template <class T>
void check_models() {
    for (const char* name : {"resnet18", "plain18"})
        for (bool train : {true, false}) {
            auto net = make_fixture_model<T>(name);
            check_against_fixture(*net, std::string("model_") + name + (train ? "_train" : "_eval") + ".txt", train);
        }
}

}  // namespace

TEST_CASE("Residual blocks match PyTorch in double: every shortcut, bottleneck, no norm; train and eval",
          "[models][parity]") {
    check_blocks<double>();
}

TEST_CASE("Residual blocks match PyTorch in float", "[models][parity]") { check_blocks<float>(); }

TEST_CASE("ResNet-18 and Plain-18 (peer workload topology, widths 2/4/8/16) match PyTorch in double",
          "[models][parity]") {
    check_models<double>();
}

TEST_CASE("ResNet-18 and Plain-18 (peer workload topology, widths 2/4/8/16) match PyTorch in float",
          "[models][parity]") {
    check_models<float>();
}

TEST_CASE("Parameter counts equal torchvision's and the peer workload's", "[models][parity]") {
    const Fixture fx("param_counts.txt");
    auto count = [](auto net) { return static_cast<double>(net->parameter_count()); };
    CHECK(count(resnet18<float>()) == fx.scalar("resnet18"));
    CHECK(count(resnet34<float>()) == fx.scalar("resnet34"));
    CHECK(count(resnet50<float>()) == fx.scalar("resnet50"));
    const auto peer = ResNetOptions().in_channels(1).num_classes(10);
    CHECK(count(resnet18<float>(peer)) == fx.scalar("peer_resnet18"));
    CHECK(count(plain18<float>(peer)) == fx.scalar("peer_plain18"));
}

TEST_CASE("load_module_state and the fixture name checks catch mismatched modules", "[models][parity]") {
    // A projection block needs downsample.* that the identity block's fixture lacks.
    nn::BasicBlock<double> projection(nn::BlockOptions(4, 4).shortcut(Shortcut::always_projection));
    CHECK_THROWS_WITH(test::load_module_state(projection, Fixture("block_basic_identity_train.txt")),
                      Catch::Contains("downsample.0.weight") && Catch::Contains("parameter"));
    // The other way round: the fixture holds state that the module does not have.
    nn::BasicBlock<double> identity(nn::BlockOptions(4, 4));
    const auto extra = test::unexpected_state_names(identity, "block_basic_always_projection_train.txt");
    REQUIRE(extra.size() == 6);  // downsample.0.weight, downsample.1.{weight, bias, running_*, num_batches_tracked}
    CHECK(extra.front() == "downsample.0.weight");
    // Same names, other shapes.
    nn::BasicBlock<double> wide(nn::BlockOptions(4, 8).stride(2).shortcut(Shortcut::none));
    CHECK_THROWS_WITH(test::load_module_state(wide, Fixture("block_basic_identity_train.txt")),
                      Catch::Contains("conv1.weight") && Catch::Contains("[8, 4, 3, 3]"));
}
