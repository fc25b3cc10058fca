#pragma once
/// @file
/// The settings of the skip-vs-plain experiment (examples/skip_vs_plain/main.cpp): depth x {plain, residual} x
/// {no heads, aux heads} x {batch-norm, no normalisation}, plus the deeply-supervised net; their names
/// ("plain56-bn", "resnet56-aux-none", "resnet18i-bn", "dsn-bn"), parsing, the cross product of axes, and the
/// network each one trains.
///
/// Name grammar: (plain|resnet)<depth>[i][-aux]-(bn|none)[@steps], or dsn[-noaux]-(bn|none)[@steps]. <depth> is a
/// CIFAR-style 6n+2 depth (8, 14, 20, 32, 44, 56, 110, ...) or, with the "i" suffix, an ImageNet-style 18 or 34.
/// "dsn" is models::dsn (six 3x3 convs in three stages with max-pooling, then global pool + FC: 7 layers) with its
/// companion heads after stages 1 and 2; "dsn-noaux" is the same net without them, a plain net of its depth.
/// "@steps" overrides the run's training budget for that setting ("@0": measure the gradients at initialisation
/// only).

#include <memory>
#include <string>
#include <vector>

#include "strata/models/dsn.hpp"
#include "strata/models/resnet.hpp"

namespace strata::experiment {

/// A network depth: CIFAR-style 6n+2, ImageNet-style 18/34, or the deeply-supervised net's 7 layers.
struct Depth {
    int layers = 20;
    bool imagenet = false;
    bool dsn = false;  ///< models::dsn's topology (7 layers)
    /// "20", "56", "18i", "dsn".
    std::string str() const { return dsn ? "dsn" : std::to_string(layers) + (imagenet ? "i" : ""); }
};

/// Parses "20", "18i" or "dsn". Throws ArgumentError naming the token on anything that is not a CIFAR-style 6n+2
/// depth (at least 8), an ImageNet-style 18i / 34i or "dsn".
/// @throws ArgumentError naming the token when it is not a 6n+2 depth, "18i" / "34i" or "dsn".
inline Depth parse_depth(const std::string& token) {
    Depth d;
    if (token == "dsn") {
        d.layers = 7;
        d.dsn = true;
        return d;
    }
    std::string digits = token;
    if (!digits.empty() && digits.back() == 'i') d.imagenet = true, digits.pop_back();
    bool ok = !digits.empty() && digits.size() <= 4 && digits.find_first_not_of("0123456789") == std::string::npos;
    if (ok) d.layers = std::stoi(digits);
    if (d.imagenet)
        ok = ok && (d.layers == 18 || d.layers == 34);
    else
        ok = ok && d.layers >= 8 && (d.layers - 2) % 6 == 0;
    check<ArgumentError>(ok, "depth '", token,
                         "': use a CIFAR-style depth 6n+2 (8, 14, 20, 32, 44, 56, 110), an ImageNet-style 18i or 34i, or dsn");
    return d;
}

/// One configuration of the experiment.
struct Setting {
    Depth depth;
    bool residual = false;  ///< shortcuts (option A zero-pad for CIFAR-style, projection for ImageNet-style)
    bool heads = false;     ///< auxiliary linear heads after stages 1-2 (CIFAR-style, dsn) or 1-3 (ImageNet-style)
    nn::Norm norm = nn::Norm::batch;
    long steps = -1;  ///< training steps: -1 the run's budget, 0 gradients at initialisation only

    /// "plain56-bn", "resnet20-aux-none", "resnet18i-bn", "dsn-bn", "dsn-noaux-none".
    std::string name() const {
        const std::string norm_part = norm == nn::Norm::batch ? "-bn" : "-none";
        if (depth.dsn) return std::string("dsn") + (heads ? "" : "-noaux") + norm_part;
        return std::string(residual ? "resnet" : "plain") + depth.str() + (heads ? "-aux" : "") + norm_part;
    }
    /// name() plus "@steps" when the setting has its own budget; parse_setting(spec()) gives it back.
    std::string spec() const { return steps >= 0 ? name() + "@" + std::to_string(steps) : name(); }
    /// "plain", "plain+aux", "residual" or "residual+aux" (the colour of its curves).
    std::string family() const { return std::string(residual ? "residual" : "plain") + (heads ? "+aux" : ""); }
};

/// Parses a setting name (see the file comment). Throws ArgumentError naming the text and the grammar.
/// @throws ArgumentError naming the text and the grammar when it does not parse.
inline Setting parse_setting(const std::string& text) {
    const std::string grammar = "' is not a setting: use (plain|resnet)<depth>[i][-aux]-(bn|none)[@steps] or "
                                "dsn[-noaux]-(bn|none)[@steps], e.g. plain56-bn, resnet56-aux-none@20, resnet18i-bn, dsn-bn";
    Setting s;
    std::string rest = text;
    if (const auto at = rest.find('@'); at != std::string::npos) {
        const std::string n = rest.substr(at + 1);
        check<ArgumentError>(!n.empty() && n.size() <= 9 && n.find_first_not_of("0123456789") == std::string::npos,
                             "setting '", text, "': the step budget after '@' must be a count, got '", n, "'");
        s.steps = std::stol(n);
        rest.resize(at);
    }
    if (rest.rfind("dsn-", 0) == 0) {
        std::string tail = rest.substr(4);
        s.depth = parse_depth("dsn");
        s.heads = tail.rfind("noaux-", 0) != 0;
        if (!s.heads) tail.erase(0, 6);
        check<ArgumentError>(tail == "bn" || tail == "none", "'", text, grammar);
        s.norm = tail == "bn" ? nn::Norm::batch : nn::Norm::none;
        return s;
    }
    if (rest.rfind("plain", 0) == 0) {
        rest.erase(0, 5);
    } else if (rest.rfind("resnet", 0) == 0) {
        s.residual = true;
        rest.erase(0, 6);
    } else {
        throw ArgumentError("'" + text + grammar);
    }
    const auto dash = rest.find('-');
    check<ArgumentError>(dash != std::string::npos, "'", text, grammar);
    try {
        s.depth = parse_depth(rest.substr(0, dash));
    } catch (const ArgumentError& e) {
        throw ArgumentError("setting '" + text + "': " + e.what());
    }
    check<ArgumentError>(!s.depth.dsn, "'", text, grammar);
    std::string tail = rest.substr(dash + 1);
    if (tail.rfind("aux-", 0) == 0) s.heads = true, tail.erase(0, 4);
    check<ArgumentError>(tail == "bn" || tail == "none", "'", text, grammar);
    s.norm = tail == "bn" ? nn::Norm::batch : nn::Norm::none;
    return s;
}

/// Every combination of the axes, in the order depth, norm, shortcut, heads (outermost first). `shortcuts`
/// holds "plain" / "residual", `heads` "none" / "aux", `norms` "bn" / "none". Throws ArgumentError naming an
/// unknown value or an empty axis.
/// @throws ArgumentError for an empty axis or an unknown value, naming it.
inline std::vector<Setting> setting_matrix(const std::vector<std::string>& depths, const std::vector<std::string>& shortcuts,
                                           const std::vector<std::string>& heads, const std::vector<std::string>& norms) {
    auto values = [](const std::vector<std::string>& given, const char* axis, const char* a, const char* b) {
        check<ArgumentError>(!given.empty(), "setting_matrix: the ", axis, " axis is empty");
        std::vector<bool> out;
        for (const auto& v : given) {
            check<ArgumentError>(v == a || v == b, "unknown ", axis, " '", v, "': use ", a, " or ", b);
            out.push_back(v == b);
        }
        return out;
    };
    const auto residual = values(shortcuts, "shortcut", "plain", "residual");
    const auto aux = values(heads, "heads", "none", "aux");
    const auto unnormalised = values(norms, "norm", "bn", "none");
    check<ArgumentError>(!depths.empty(), "setting_matrix: the depth axis is empty");
    std::vector<Setting> out;
    for (const auto& d : depths)
        for (bool nonorm : unnormalised)
            for (bool r : residual)
                for (bool h : aux) {
                    Setting s;
                    s.depth = parse_depth(d);
                    if (s.depth.dsn && r) continue;  // the deeply-supervised net has no residual twin
                    s.residual = r;
                    s.heads = h;
                    s.norm = nonorm ? nn::Norm::none : nn::Norm::batch;
                    out.push_back(s);
                }
    return out;
}

/// The network of a CIFAR- or ImageNet-style setting, built as models::make_model builds the same name: Kaiming
/// init from `seed`; residual nets without normalisation start every residual branch's last conv at zero
/// (zero_init_residual); heads are linear (global pool + FC).
/// @throws ArgumentError for a dsn setting, or when in_channels, num_classes or input_size is not positive.
template <class T = float>
std::unique_ptr<models::ResNet<T>> build_resnet(const Setting& s, index_t in_channels, index_t num_classes,
                                                index_t input_size, std::uint64_t seed) {
    check<ArgumentError>(!s.depth.dsn, "build_resnet: '", s.name(), "' is not a ResNet setting (use build_network)");
    auto o = models::ResNetOptions()
                 .in_channels(in_channels)
                 .num_classes(num_classes)
                 .input_size(input_size)
                 .norm(s.norm)
                 .zero_init_residual(s.residual && s.norm == nn::Norm::none)
                 .seed(seed);
    if (s.depth.imagenet) {
        if (s.heads) o.aux_after({1, 2, 3});
        o.shortcut(s.residual ? nn::Shortcut::projection : nn::Shortcut::none);
        return s.depth.layers == 18 ? models::resnet18<T>(o) : models::resnet34<T>(o);
    }
    if (s.heads) o.aux_after({1, 2});
    o.shortcut(s.residual ? nn::Shortcut::zero_pad : nn::Shortcut::none);
    return models::cifar_resnet<T>(s.depth.layers, o);
}

/// The network of any setting: build_resnet's, or models::dsn (Kaiming init from `seed`, linear companion heads
/// after stages 1 and 2). "dsn-noaux" is built with its heads and then stripped of them, so that it starts from
/// exactly the main-path weights of "dsn" at the same seed.
/// @throws ArgumentError when in_channels, num_classes or input_size is not positive (dsn: input_size below 8).
template <class T = float>
std::unique_ptr<nn::Module<T>> build_network(const Setting& s, index_t in_channels, index_t num_classes,
                                             index_t input_size, std::uint64_t seed) {
    if (!s.depth.dsn) return build_resnet<T>(s, in_channels, num_classes, input_size, seed);
    check<ArgumentError>(!s.residual, "build_network: the deeply-supervised net has no residual variant");
    check<ArgumentError>(input_size >= 8, "build_network: dsn needs inputs of at least 8x8 (three 2x2 max-pools), got ",
                         input_size);
    auto net = models::dsn<T>(models::DsnOptions().in_channels(in_channels).num_classes(num_classes).norm(s.norm).seed(seed));
    if (!s.heads) nn::strip_aux_heads(*net);
    return net;
}

}  // namespace strata::experiment
