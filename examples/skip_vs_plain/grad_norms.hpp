#pragma once
/// @file
/// Per-layer gradient norms along a network's main path: the L2 norm of every convolution's weight gradient,
/// in depth order, leaving out auxiliary heads (they are not on the path from the input to the output) and,
/// optionally, projection shortcuts. Plain nets and their residual twins then list the same layers at the same
/// indices, so their gradient profiles can be plotted against one another.

#include <cmath>
#include <string>
#include <vector>

#include "strata/nn/aux_head.hpp"
#include "strata/nn/conv2d.hpp"

namespace strata::experiment {

/// A convolution of the main path with its module path ("conv1", "layer2.0.conv1").
template <class T>
struct NamedConv {
    std::string name;
    nn::Conv2d<T>* conv;
};

/// The weight-gradient norm of one main-path convolution.
struct LayerGradNorm {
    int index = 0;     ///< position along the main path, 0 = the stem conv
    std::string name;  ///< module path
    double norm = 0;   ///< L2 (Frobenius) norm of the weight's gradient
};

/// The Conv2d modules of `model` in depth-first registration order (the order of the forward pass for
/// strata's ResNets), without those inside an nn::AuxHead and, unless `include_shortcuts`, without those inside
/// a module named "downsample" (projection shortcuts).
template <class T>
std::vector<NamedConv<T>> main_path_convs(nn::Module<T>& model, bool include_shortcuts = false) {
    std::vector<std::string> excluded;  // prefixes "path." of subtrees to leave out
    std::vector<NamedConv<T>> out;
    for (auto& [path, module] : model.named_modules()) {
        bool skip = false;
        for (const auto& prefix : excluded) skip = skip || path.rfind(prefix, 0) == 0;
        if (skip) continue;
        const std::string last = path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
        if (dynamic_cast<nn::AuxHead<T>*>(module) != nullptr || (!include_shortcuts && last == "downsample")) {
            excluded.push_back(path + ".");
            continue;
        }
        if (auto* conv = dynamic_cast<nn::Conv2d<T>*>(module)) out.push_back({path, conv});
    }
    return out;
}

/// The weight-gradient L2 norm of every main-path convolution of `model` (see main_path_convs), as its
/// gradients are now (call after backward, before the optimizer step or zero_grad).
template <class T>
std::vector<LayerGradNorm> conv_grad_norms(nn::Module<T>& model, bool include_shortcuts = false) {
    std::vector<LayerGradNorm> out;
    int index = 0;
    for (const auto& c : main_path_convs(model, include_shortcuts)) {
        const double sum = c.conv->weight().grad().array().template cast<double>().square().sum();
        out.push_back({index++, c.name, std::sqrt(sum)});
    }
    return out;
}

}  // namespace strata::experiment
