#pragma once
/// @file
/// make_model(name): builds any of strata's models from its name, for command-line programs
/// ("resnet18", "plain18", "resnet18-aux", "resnet20", "plain56", "resnet56-aux", "dsn", ...).

#include <string>
#include <vector>

#include "strata/models/dsn.hpp"
#include "strata/models/resnet.hpp"

namespace strata::models {

/// What make_model needs besides the name.
struct ModelSpec {
    STRATA_ARG(index_t, in_channels) = 1;
    STRATA_ARG(index_t, num_classes) = 10;
    STRATA_ARG(index_t, input_size) = 28;
    STRATA_ARG(Norm, norm) = Norm::batch;
    STRATA_ARG(std::uint64_t, seed) = 0;
    /// Residual nets: start every residual branch at zero (its last batch-norm gamma; PyTorch's
    /// zero_init_residual). Nets without normalisation always do; plain nets and dsn have no residual branch.
    STRATA_ARG(bool, zero_init_residual) = false;
};

/// The names make_model accepts, for --help texts.
inline std::vector<std::string> model_names() {
    return {"resnet18", "resnet34", "resnet50", "plain18", "plain34", "resnet20", "resnet32", "resnet44",
            "resnet56", "resnet110", "plain20", "plain32", "plain44", "plain56", "plain110", "dsn"};
}

/// Builds the model called `name`; a "-aux" suffix attaches auxiliary heads (after stages 1-3 of an
/// ImageNet-style net, 1-2 of a CIFAR-style one). ImageNet-style nets use projection shortcuts, CIFAR-style ones
/// option A; plain nets have none. Throws ArgumentError naming the model and the valid names otherwise.
/// @throws ArgumentError for an unknown name (listing the valid ones) or invalid spec values.
template <class T>
std::unique_ptr<nn::Module<T>> make_model(const std::string& name, const ModelSpec& spec = {}) {
    std::string base = name;
    const bool aux = base.size() > 4 && base.compare(base.size() - 4, 4, "-aux") == 0;
    if (aux) base.resize(base.size() - 4);
    auto unknown = [&] {
        std::string valid;
        for (const auto& n : model_names()) valid += (valid.empty() ? "" : ", ") + n;
        return ArgumentError("unknown model '" + name + "'; valid names: " + valid + " (each with an optional -aux suffix)");
    };
    if (base == "dsn") {
        if (aux) throw unknown();  // a DSN always has its companion heads
        return dsn<T>(DsnOptions().in_channels(spec.in_channels()).num_classes(spec.num_classes()).norm(spec.norm()).seed(spec.seed()));
    }
    const bool plain = base.rfind("plain", 0) == 0;
    const bool resnet = base.rfind("resnet", 0) == 0;
    if (!plain && !resnet) throw unknown();
    int depth = 0;
    try {
        depth = std::stoi(base.substr(plain ? 5 : 6));
    } catch (const std::exception&) {
        throw unknown();
    }
    auto options = ResNetOptions()
                       .in_channels(spec.in_channels())
                       .num_classes(spec.num_classes())
                       .input_size(spec.input_size())
                       .norm(spec.norm())
                       // without normalisation always (unnormalised residual sums grow with depth)
                       .zero_init_residual((spec.zero_init_residual() || spec.norm() == Norm::none) && !plain)
                       .seed(spec.seed());
    const bool imagenet = depth == 18 || depth == 34 || depth == 50;
    if (imagenet) {
        if (aux) options.aux_after({1, 2, 3});
        options.shortcut(plain ? Shortcut::none : Shortcut::projection);
        if (depth == 50) {
            if (plain) throw unknown();
            return resnet50<T>(options);
        }
        return depth == 18 ? resnet18<T>(options) : resnet34<T>(options);
    }
    if (depth < 8 || (depth - 2) % 6 != 0) throw unknown();
    if (aux) options.aux_after({1, 2});
    options.shortcut(plain ? Shortcut::none : Shortcut::zero_pad);
    return cifar_resnet<T>(depth, options);
}

}  // namespace strata::models
