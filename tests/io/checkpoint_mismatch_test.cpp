// CheckpointMismatch: one exception type for "this file does not match this model", whatever the mix of
// problems, with the counts first and one problem per line, capped at 10 per kind.

#include <catch2/catch.hpp>

#include <sstream>

#include "strata/io/checkpoint.hpp"
#include "strata/models/resnet.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"

using namespace strata;
using Catch::Contains;

namespace {

const auto kSmall = models::ResNetOptions().in_channels(1).num_classes(10).widths({2, 4, 8, 16});

/// Runs `f`, which must throw a CheckpointMismatch, and returns it.
template <class F>
CheckpointMismatch mismatch_of(F&& f) {
    try {
        f();
    } catch (const CheckpointMismatch& e) {
        return e;
    }
    FAIL("no CheckpointMismatch thrown");
    throw std::logic_error("unreachable");
}

/// The lines of `s`.
std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

/// How many lines of `s` start with `prefix`.
std::size_t count_lines(const std::string& s, const std::string& prefix) {
    std::size_t n = 0;
    for (const auto& l : lines_of(s)) n += l.rfind(prefix, 0) == 0;
    return n;
}

}  // namespace

TEST_CASE("A resnet18 checkpoint into plain18: the counts, then each unexpected entry, capped at 10", "[io][checkpoint]") {
    const io::Checkpoint ck = io::Checkpoint::from_module(*models::resnet18<float>(kSmall));
    auto plain = models::plain18<float>(kSmall);
    const CheckpointMismatch e = mismatch_of([&] { ck.load_into(*plain); });
    const std::string msg = e.what();
    // 3 projection shortcuts x (conv weight, BN weight, bias, running mean, running var, num_batches_tracked).
    CHECK(e.unexpected().size() == 18);
    CHECK(e.missing().empty());
    CHECK(e.shape_mismatched().empty());
    CHECK(e.dtype_mismatched().empty());
    CHECK(lines_of(msg).front() ==
          "load: <memory> does not match the model: 0 missing, 18 unexpected, 0 with another shape, 0 with another dtype");
    CHECK(count_lines(msg, "  unexpected: 'model.layer") == 10);
    CHECK(count_lines(msg, "  ... and 8 more unexpected") == 1);
    CHECK(lines_of(msg).size() == 1 + 10 + 1 + 1);  // counts, 10 problems, "... and 8 more", the hint
    CHECK(e.unexpected().front() == "layer2.0.downsample.0.weight");
}

TEST_CASE("A resnet18 checkpoint into resnet34: 96 missing entries, 10 listed", "[io][checkpoint]") {
    const io::Checkpoint ck = io::Checkpoint::from_module(*models::resnet18<float>(kSmall));
    auto deeper = models::resnet34<float>(kSmall);
    const CheckpointMismatch e = mismatch_of([&] { ck.load_into(*deeper); });
    const std::string msg = e.what();
    CHECK(e.missing().size() == 96);  // 8 more BasicBlocks x (2 convs + 2 BNs x 5 tensors)
    CHECK(e.unexpected().empty());
    CHECK(Contains(": 96 missing, 0 unexpected, 0 with another shape, 0 with another dtype\n").match(msg));
    CHECK(count_lines(msg, "  missing: 'model.layer") == 10);
    CHECK(Contains("\n  missing: 'model.layer1.2.conv1.weight' for parameter of shape [2, 2, 3, 3]\n").match(msg));
    CHECK(count_lines(msg, "  ... and 86 more missing") == 1);
}

TEST_CASE("Every kind at once: one CheckpointMismatch, kinds in order, each capped on its own", "[io][checkpoint]") {
    // A file built by hand against 5 Linear + 1 BatchNorm: 10 missing, 11 unexpected, 3 shape and 2 dtype
    // mismatches.
    nn::Sequential<float> model;
    for (int i = 0; i < 5; ++i) model.emplace<nn::Linear<float>>(nn::LinearOptions(3, 2));  // 10 parameters
    model.emplace<nn::BatchNorm2d<float>>(nn::BatchNormOptions(2));                          // +2 params, 3 buffers
    io::Checkpoint ck;
    const float zeros[64] = {};
    const double dzeros[64] = {};
    // 0.weight/0.bias, 1.weight: another shape; 1.bias, 2.weight: f64; 2.bias .. 4.bias and BN: missing.
    ck.add_array<float>("model.0.weight", zeros, {3, 3});
    ck.add_array<float>("model.0.bias", zeros, {3});
    ck.add_array<float>("model.1.weight", zeros, {2, 4});
    ck.add_array<double>("model.1.bias", dzeros, {2});
    ck.add_array<double>("model.2.weight", dzeros, {2, 3});
    for (int i = 0; i < 11; ++i) ck.add_array<float>("model.extra" + std::to_string(i), zeros, {1});
    ck.add_scalar("meta.epoch", 1);  // other sections are not "unexpected"
    const std::size_t params_and_buffers = model.named_parameters().size() + model.named_buffers().size();
    REQUIRE(params_and_buffers == 15);

    const CheckpointMismatch e = mismatch_of([&] { ck.load_into(model); });
    const std::string msg = e.what();
    CHECK(e.missing().size() == 10);
    CHECK(e.unexpected().size() == 11);
    CHECK(e.shape_mismatched() == std::vector<std::string>{"0.weight", "0.bias", "1.weight"});
    CHECK(e.dtype_mismatched() == std::vector<std::string>{"1.bias", "2.weight"});
    CHECK(lines_of(msg).front() == "load: <memory> does not match the model: 10 missing, 11 unexpected, 3 with "
                                   "another shape, 2 with another dtype");
    CHECK(count_lines(msg, "  missing: ") == 10);
    CHECK(count_lines(msg, "  ... and ") == 1);  // only the unexpected ones exceed 10
    CHECK(count_lines(msg, "  unexpected: ") == 10);
    CHECK(count_lines(msg, "  ... and 1 more unexpected") == 1);
    CHECK(count_lines(msg, "  shape: ") == 3);
    CHECK(count_lines(msg, "  dtype: ") == 2);
    // Kinds appear in a fixed order: missing, unexpected, shape, dtype.
    CHECK(msg.find("  missing: ") < msg.find("  unexpected: "));
    CHECK(msg.find("  unexpected: ") < msg.find("  shape: "));
    CHECK(msg.find("  shape: ") < msg.find("  dtype: "));
    CHECK(Contains("  shape: 'model.1.weight' is [2, 4] in the file, [2, 3] in the model (parameter)").match(msg));
    CHECK(Contains("  dtype: 'model.1.bias' is f64 in the file, f32 in the model").match(msg));

    // Caught as any of its bases (virtual inheritance: Error and std::runtime_error are unambiguous).
    CHECK_THROWS_AS(ck.load_into(model), FormatError);
    CHECK_THROWS_AS(ck.load_into(model), ShapeError);
    CHECK_THROWS_AS(ck.load_into(model), Error);
    CHECK_THROWS_AS(ck.load_into(model), std::runtime_error);
    // Non-strict: missing and unexpected entries are reported, not thrown; the rest still is.
    CHECK_THROWS_WITH(ck.load_into(model, io::LoadOptions().strict(false)),
                      Contains(": 0 missing, 0 unexpected, 3 with another shape, 2 with another dtype\n"));
}

TEST_CASE("Non-strict loads throw CheckpointMismatch for shape and dtype problems only, without the hint",
          "[io][checkpoint]") {
    const io::Checkpoint ck = io::Checkpoint::from_module(*models::resnet18<float>(kSmall));
    auto wide = models::resnet18<float>(models::ResNetOptions(kSmall).num_classes(7));
    const CheckpointMismatch e = mismatch_of([&] { ck.load_into(*wide, io::LoadOptions().strict(false)); });
    CHECK(e.shape_mismatched() == std::vector<std::string>{"fc.weight", "fc.bias"});
    CHECK(e.missing().empty());
    CHECK(lines_of(e.what()).size() == 3);
    CHECK(ck.load_into(*wide, io::LoadOptions().strict(false).skip_mismatched(true)).mismatched.size() == 2);
}
