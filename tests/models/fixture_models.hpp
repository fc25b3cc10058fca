#pragma once
// The residual blocks and nets of tests/fixtures/generate_models.py, built in strata (shared by the parity and
// fused-inference tests, which load that script's fixtures into them).

#include <memory>
#include <string>

#include "strata/models/resnet.hpp"

namespace strata::test {

/// One residual block of generate_models.py's BLOCKS table.
struct BlockCase {
    const char* name;
    bool bottleneck;
    index_t in_channels;
    index_t channels;
    index_t stride;
    nn::Shortcut shortcut;
    nn::Norm norm;
};

/// generate_models.py's BLOCKS, in its order.
inline const BlockCase kFixtureBlocks[] = {
    {"basic_identity", false, 4, 4, 1, nn::Shortcut::projection, nn::Norm::batch},
    {"basic_zero_pad", false, 4, 8, 2, nn::Shortcut::zero_pad, nn::Norm::batch},
    {"basic_projection", false, 4, 8, 2, nn::Shortcut::projection, nn::Norm::batch},
    {"basic_always_projection", false, 4, 4, 1, nn::Shortcut::always_projection, nn::Norm::batch},
    {"basic_plain", false, 4, 8, 2, nn::Shortcut::none, nn::Norm::batch},
    {"bottleneck_projection", true, 8, 4, 2, nn::Shortcut::projection, nn::Norm::batch},
    {"basic_nonorm_projection", false, 4, 8, 2, nn::Shortcut::projection, nn::Norm::none},
};

/// The block of one BlockCase.
template <class T>
std::unique_ptr<nn::Module<T>> make_fixture_block(const BlockCase& c) {
    const auto o = nn::BlockOptions(c.in_channels, c.channels).stride(c.stride).shortcut(c.shortcut).norm(c.norm);
    if (c.bottleneck) return std::make_unique<nn::Bottleneck<T>>(o);
    return std::make_unique<nn::BasicBlock<T>>(o);
}

/// The peer workload's topology ("resnet18" or "plain18") at generate_models.py's MODEL_WIDTHS.
template <class T>
std::unique_ptr<nn::Module<T>> make_fixture_model(const std::string& name) {
    const auto o = models::ResNetOptions().in_channels(1).num_classes(10).widths({2, 4, 8, 16});
    if (name == "resnet18") return models::resnet18<T>(o);
    return models::plain18<T>(o);
}

}  // namespace strata::test
