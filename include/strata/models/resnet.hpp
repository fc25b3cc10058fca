#pragma once
/// @file
/// The ResNet family and its plain twins: ImageNet-style resnet18/34/50 and plain18/34 (torchvision topology and
/// parameter names), and CIFAR-style 6n+2 nets (He et al. 2016, Sec. 4.2): resnet20/32/44/56/110, plain20/...

#include <algorithm>
#include <vector>

#include "strata/nn/activation.hpp"
#include "strata/nn/aux_head.hpp"
#include "strata/nn/linear.hpp"
#include "strata/models/initialise.hpp"
#include "strata/nn/residual.hpp"

namespace strata::models {

using nn::Norm;
using nn::Shortcut;

/// The first layers of the net.
enum class Stem {
    imagenet,  ///< 7x7/2 conv + BN + ReLU + 3x3/2 max-pool (torchvision)
    cifar,     ///< 3x3/1 conv + BN + ReLU, no pooling
};

/// Which residual block a net is made of.
enum class BlockType { basic, bottleneck };

/// Options of the ResNet factories (defaults: torchvision's ResNet on 3x224x224, 1000 classes).
struct ResNetOptions {
    STRATA_ARG(index_t, in_channels) = 3;
    STRATA_ARG(index_t, num_classes) = 1000;
    STRATA_ARG(Stem, stem) = Stem::imagenet;
    /// Shortcut::none makes the plain twin; the plain factories set it.
    STRATA_ARG(Shortcut, shortcut) = Shortcut::projection;
    STRATA_ARG(Norm, norm) = Norm::batch;
    /// Start every residual branch at zero (last BN gamma, or last conv without normalisation).
    STRATA_ARG(bool, zero_init_residual) = false;
    /// Stage widths (ImageNet-style: 64,128,256,512; CIFAR-style: 16,32,64). Empty: the family's default.
    STRATA_ARG(std::vector<index_t>, widths);
    /// Seed of the weight initialisation (Kaiming normal, fan-out, for convs; PyTorch's default for the FC).
    STRATA_ARG(std::uint64_t, seed) = 0;
    /// Stages (1-based) after which an auxiliary head is attached, e.g. {1, 2, 3}; empty: no heads.
    STRATA_ARG(std::vector<int>, aux_after);
    /// The classifier of each auxiliary head.
    STRATA_ARG(nn::AuxHeadKind, aux_head) = nn::AuxHeadKind::linear;
    /// Input height/width, used only to size GoogLeNet-style heads' FC layers.
    STRATA_ARG(index_t, input_size) = 224;
};

namespace detail {
/// The width of every stage of a ResNet with these options and stages: options.widths(), or the stem's default
/// ({64, 128, 256, 512} ImageNet-style, {16, 32, 64} CIFAR-style) when empty, extended by twice its last width
/// to the number of stages.
inline std::vector<index_t> resnet_stage_widths(const ResNetOptions& options, std::size_t stages) {
    std::vector<index_t> widths = options.widths();
    if (widths.empty())
        widths = options.stem() == Stem::imagenet ? std::vector<index_t>{64, 128, 256, 512}
                                                  : std::vector<index_t>{16, 32, 64};
    widths.resize(std::max(widths.size(), stages), widths.back() * 2);
    return widths;
}
}  // namespace detail

/// A residual (or plain) network: stem, stages layer1..layerK of blocks, global average pool, FC.
template <class T>
class ResNet : public nn::Module<T> {
public:
    /// Builds a net of `blocks_per_stage[i]` blocks in stage i. Throws ArgumentError on empty or mismatched
    /// stages/widths.
    /// @throws ArgumentError for no stages, a stage of no blocks, or invalid options (non-positive in_channels,
    /// num_classes or widths; aux_after naming a stage outside the net or twice), naming the value.
    ResNet(BlockType block, const std::vector<index_t>& blocks_per_stage, const ResNetOptions& options)
        : options_(options), block_type_(block), blocks_per_stage_(blocks_per_stage) {
        const std::vector<index_t> widths = detail::resnet_stage_widths(options, blocks_per_stage.size());
        check<ArgumentError>(!blocks_per_stage.empty(), "ResNet: needs at least one stage");
        check<ArgumentError>(options.in_channels() > 0 && options.num_classes() > 0,
                             "ResNet: in_channels and num_classes must be positive, got ", options.in_channels(),
                             " and ", options.num_classes());
        const bool bn = options.norm() == Norm::batch;
        const index_t stem_width = widths[0];
        if (options.stem() == Stem::imagenet) {
            conv1_ = &this->register_module(
                "conv1", nn::make<nn::Conv2d<T>>(
                             nn::Conv2dOptions(options.in_channels(), stem_width, 7).stride(2).padding(3).bias(!bn)));
        } else {
            conv1_ = &this->register_module(
                "conv1", nn::make<nn::Conv2d<T>>(nn::Conv2dOptions(options.in_channels(), stem_width, 3).padding(1).bias(!bn)));
        }
        if (bn) bn1_ = &this->register_module("bn1", nn::make<nn::BatchNorm2d<T>>(nn::BatchNormOptions(stem_width)));
        if (options.stem() == Stem::imagenet)
            maxpool_ = &this->register_module("maxpool", nn::make<nn::MaxPool2d<T>>(nn::Pool2dOptions(3).stride(2).padding(1)));

        index_t in = stem_width;
        for (std::size_t s = 0; s < blocks_per_stage.size(); ++s) {
            check<ArgumentError>(blocks_per_stage[s] > 0, "ResNet: stage ", s + 1, " has ", blocks_per_stage[s], " blocks");
            auto stage = nn::make<nn::Sequential<T>>();
            for (index_t b = 0; b < blocks_per_stage[s]; ++b) {
                const index_t stride = (b == 0 && s > 0) ? 2 : 1;
                const auto bo = nn::BlockOptions(in, widths[s]).stride(stride).shortcut(options.shortcut()).norm(options.norm());
                nn::ResidualBlock<T>* blk;
                if (block == BlockType::basic)
                    blk = &stage->push_back(nn::make<nn::BasicBlock<T>>(bo));
                else
                    blk = &stage->push_back(nn::make<nn::Bottleneck<T>>(bo));
                blocks_.push_back(blk);
                in = blk->out_channels();
            }
            stages_.push_back(&this->register_module("layer" + std::to_string(s + 1), std::move(stage)));
            stage_channels_.push_back(in);
        }
        avgpool_ = &this->register_module("avgpool", nn::make<nn::GlobalAvgPool2d<T>>());
        fc_ = &this->register_module("fc", nn::make<nn::Linear<T>>(nn::LinearOptions(in, options.num_classes())));
        build_aux_heads(blocks_per_stage.size());  // last, so that heads do not change the main net's init stream
        initialise();
    }

    /// @throws ShapeError "in module '<path>' ..." for an input of the wrong shape (e.g. other channels than
    /// in_channels, or too small for the stem); what the ops throw otherwise.
    Var<T> forward(const Var<T>& x) override {
        Var<T> y = features(x);
        return (*fc_)(flatten((*avgpool_)(y)));
    }
    std::string type_name() const override { return "ResNet"; }

    /// The feature map after the last stage (before pooling).
    /// @throws ShapeError for an input of the wrong shape, naming the module path; what the ops throw otherwise.
    Var<T> features(const Var<T>& x) {
        Var<T> y;
        bool fused = false;
        if (nn::detail::fused_inference(*this, x.tape())) {  // conv + BN + ReLU in one pass
            try {
                y = nn::detail::conv_norm_act(*conv1_, bn1_, x, Var<T>(), true);
                fused = true;
            } catch (const ShapeError&) {
                // the layer-by-layer path below throws the same error naming the module
            }
        }
        if (!fused) {
            y = (*conv1_)(x);
            if (bn1_) y = (*bn1_)(y);
            y = relu(y);
        }
        if (maxpool_) y = (*maxpool_)(y);
        for (std::size_t s = 0; s < stages_.size(); ++s) {
            y = (*stages_[s])(y);
            if (aux_[s] != nullptr) y = (*aux_[s])(y);  // a tap: returns y (forward_with_aux collects its head)
        }
        return y;
    }

    /// The stages (layer1, layer2, ...).
    const std::vector<nn::Sequential<T>*>& stages() const { return stages_; }
    /// Every block, in order.
    const std::vector<nn::ResidualBlock<T>*>& blocks() const { return blocks_; }
    nn::Conv2d<T>& stem_conv() { return *conv1_; }
    nn::Linear<T>& fc() { return *fc_; }
    const ResNetOptions& options() const { return options_; }
    /// The block the net is made of.
    BlockType block_type() const { return block_type_; }
    /// Blocks in each stage ({2, 2, 2, 2} for ResNet-18).
    const std::vector<index_t>& blocks_per_stage() const { return blocks_per_stage_; }

    /// The auxiliary head after stage s (0-based), or null.
    nn::AuxHead<T>* aux_head(std::size_t s) const { return s < aux_.size() ? aux_[s] : nullptr; }

private:
    void build_aux_heads(std::size_t stages) {
        aux_.assign(stages, nullptr);
        // The spatial size after each stage, for heads whose FC depends on it.
        index_t size = options_.input_size();
        if (options_.stem() == Stem::imagenet) size = ((size + 6 - 7) / 2 + 1 + 2 - 3) / 2 + 1;
        std::vector<index_t> sizes;
        for (std::size_t s = 0; s < stages; ++s) {
            if (s > 0) size = (size - 1) / 2 + 1;
            sizes.push_back(size);
        }
        for (int s : options_.aux_after()) {
            check<ArgumentError>(s >= 1 && s <= static_cast<int>(stages), "ResNet: aux_after names stage ", s,
                                 " but the net has stages 1..", stages);
            check<ArgumentError>(aux_[static_cast<std::size_t>(s - 1)] == nullptr, "ResNet: aux_after names stage ", s, " twice");
            const auto u = static_cast<std::size_t>(s - 1);
            const index_t channels = stage_channels_[u];
            const auto head = nn::AuxHeadOptions(channels, options_.num_classes())
                                  .kind(options_.aux_head())
                                  .in_size(std::max<index_t>(sizes[u], 1));
            aux_[u] = &this->register_module("aux" + std::to_string(s), nn::make_aux_head<T>(head));
        }
    }

    void initialise() {
        Generator gen(options_.seed());
        kaiming_initialise<T>(*this, gen);
        if (options_.zero_init_residual())
            for (auto* b : blocks_)
                if (options_.shortcut() != Shortcut::none) b->zero_init_residual();
    }

    ResNetOptions options_;
    BlockType block_type_;
    std::vector<index_t> blocks_per_stage_;
    nn::Conv2d<T>* conv1_ = nullptr;
    nn::BatchNorm2d<T>* bn1_ = nullptr;
    nn::MaxPool2d<T>* maxpool_ = nullptr;
    std::vector<nn::Sequential<T>*> stages_;
    std::vector<nn::ResidualBlock<T>*> blocks_;
    std::vector<index_t> stage_channels_;
    std::vector<nn::AuxHead<T>*> aux_;
    nn::GlobalAvgPool2d<T>* avgpool_ = nullptr;
    nn::Linear<T>* fc_ = nullptr;
};

/// ResNet-18 (BasicBlock, [2, 2, 2, 2]); 11,689,512 parameters with the defaults, as torchvision's.
/// @throws ArgumentError for invalid options (non-positive in_channels, num_classes or widths; aux_after
/// naming a stage outside the net or twice), naming the value.
template <class T = float>
std::unique_ptr<ResNet<T>> resnet18(ResNetOptions o = {}) {
    return std::make_unique<ResNet<T>>(BlockType::basic, std::vector<index_t>{2, 2, 2, 2}, o);
}
/// ResNet-34 (BasicBlock, [3, 4, 6, 3]).
/// @throws ArgumentError for invalid options (non-positive in_channels, num_classes or widths; aux_after
/// naming a stage outside the net or twice), naming the value.
template <class T = float>
std::unique_ptr<ResNet<T>> resnet34(ResNetOptions o = {}) {
    return std::make_unique<ResNet<T>>(BlockType::basic, std::vector<index_t>{3, 4, 6, 3}, o);
}
/// ResNet-50 (Bottleneck, [3, 4, 6, 3]).
/// @throws ArgumentError for invalid options (non-positive in_channels, num_classes or widths; aux_after
/// naming a stage outside the net or twice), naming the value.
template <class T = float>
std::unique_ptr<ResNet<T>> resnet50(ResNetOptions o = {}) {
    return std::make_unique<ResNet<T>>(BlockType::bottleneck, std::vector<index_t>{3, 4, 6, 3}, o);
}
/// Plain-18: ResNet-18 without shortcuts.
/// @throws ArgumentError for invalid options (non-positive in_channels, num_classes or widths; aux_after
/// naming a stage outside the net or twice), naming the value.
template <class T = float>
std::unique_ptr<ResNet<T>> plain18(ResNetOptions o = {}) {
    return resnet18<T>(o.shortcut(Shortcut::none));
}
/// Plain-34: ResNet-34 without shortcuts.
/// @throws ArgumentError for invalid options (non-positive in_channels, num_classes or widths; aux_after
/// naming a stage outside the net or twice), naming the value.
template <class T = float>
std::unique_ptr<ResNet<T>> plain34(ResNetOptions o = {}) {
    return resnet34<T>(o.shortcut(Shortcut::none));
}

/// CIFAR-style 6n+2 net (He et al. 2016, Sec. 4.2): 3x3 stem of 16, three stages of n BasicBlocks of widths
/// 16/32/64, option-A shortcuts (unless the options say otherwise), global average pool, FC. `depth` must be
/// 6n+2 (20, 32, 44, 56, 110, ...); throws ArgumentError naming the depth otherwise. Defaults: 3 input channels,
/// 10 classes.
/// @throws ArgumentError when depth is not 6n+2 (n >= 1) or the options are invalid, naming the value.
template <class T = float>
std::unique_ptr<ResNet<T>> cifar_resnet(int depth, ResNetOptions o = ResNetOptions().num_classes(10).shortcut(Shortcut::zero_pad)) {
    check<ArgumentError>(depth >= 8 && (depth - 2) % 6 == 0, "cifar_resnet: depth must be 6n+2 (20, 32, 44, 56, 110), got ",
                         depth);
    const index_t n = (depth - 2) / 6;
    return std::make_unique<ResNet<T>>(BlockType::basic, std::vector<index_t>{n, n, n}, o.stem(Stem::cifar));
}
/// The plain twin of cifar_resnet(depth).
/// @throws ArgumentError when depth is not 6n+2 (n >= 1) or the options are invalid, naming the value.
template <class T = float>
std::unique_ptr<ResNet<T>> cifar_plain(int depth, ResNetOptions o = ResNetOptions().num_classes(10)) {
    return cifar_resnet<T>(depth, o.shortcut(Shortcut::none));
}

}  // namespace strata::models
