#pragma once
/// @file
/// Recipe: the default training recipe of a model family (learning rate, linear warm-up, zero-initialised last
/// batch-norm of each residual branch, batch size), chosen by the sweep written down in docs/models.md. The
/// trainer applies the recipe of --model to each of these options that the command line did not give; every
/// other option has one default for all models. A resumed run keeps the values its checkpoint holds.

#include <string>
#include <vector>

#include "strata/core/error.hpp"

#include "config.hpp"

namespace strata::train {

/// The default recipe of a model family; see the file comment.
struct Recipe {
    std::string name;                 ///< the family's name, e.g. "cifar-resnet"
    std::string models;               ///< the --model names it covers, for --help
    double lr = 0.05;                 ///< --lr
    index_t warmup = 0;               ///< --warmup (iterations)
    bool zero_init_residual = false;  ///< --zero-init-residual
    index_t batch_size = 128;         ///< --batch-size
};

/// The option names (without "--") a recipe sets: the fields of config.hpp's table whose default is
/// CliDefault::recipe (batch-size, lr, warmup, zero-init-residual), in the table's order.
inline const std::vector<std::string>& recipe_options() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const ConfigField& f : config_fields())
            if (f.cli_default == CliDefault::recipe) out.push_back(f.key);
        return out;
    }();
    return names;
}

/// Every family's recipe, in the order --help lists them.
inline const std::vector<Recipe>& recipes() {
    // name, models, lr, warm-up, zero-init residual, batch size (docs/models.md: the sweep behind each choice)
    static const std::vector<Recipe> all{
        {"resnet-basic", "resnet18, resnet34, plain18, plain34 (each also -aux)", 0.05, 0, false, 128},
        {"resnet-bottleneck", "resnet50, resnet50-aux", 0.05, 20, true, 128},
        {"cifar-resnet", "resnet20, resnet32, resnet44, resnet56, resnet110 (any depth 6n+2; each also -aux)", 0.05, 20, false, 128},
        {"cifar-plain", "plain20, plain32, plain44, plain56, plain110 (any depth 6n+2; each also -aux)", 0.05, 0, false, 128},
        {"dsn", "dsn (squared-hinge losses: see docs/models.md)", 0.01, 0, false, 128},
    };
    return all;
}

namespace detail {

inline const Recipe& recipe_named(const std::string& name) {
    for (const Recipe& r : recipes())
        if (r.name == name) return r;
    throw ArgumentError("no recipe named '" + name + "'");
}

}  // namespace detail

/// The recipe of the model called `model` (a models::make_model name; an "-aux" suffix has its base's recipe),
/// or nullptr for a name outside the families (make_model then reports the unknown model).
inline const Recipe* recipe_for(const std::string& model) {
    std::string base = model;
    if (base.size() > 4 && base.compare(base.size() - 4, 4, "-aux") == 0) base.resize(base.size() - 4);
    if (base == "dsn") return &detail::recipe_named("dsn");
    const bool plain = base.rfind("plain", 0) == 0, resnet = base.rfind("resnet", 0) == 0;
    if (!plain && !resnet) return nullptr;
    const std::string digits = base.substr(plain ? 5 : 6);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 4)
        return nullptr;
    const int depth = std::stoi(digits);
    if (depth == 50) return resnet ? &detail::recipe_named("resnet-bottleneck") : nullptr;  // no plain50
    if (depth == 18 || depth == 34) return &detail::recipe_named("resnet-basic");
    if (depth >= 8 && (depth - 2) % 6 == 0) return &detail::recipe_named(plain ? "cifar-plain" : "cifar-resnet");
    return nullptr;
}

/// Applies the recipe of cfg.model to the recipe options not named in `given` (option names without "--", as
/// the command line gave them) and returns it; returns nullptr and changes nothing for a model without one.
/// With --schedule onecycle or plateau the recipe's warm-up is left out (those schedules take none).
inline const Recipe* apply_recipe(TrainConfig& cfg, const std::vector<std::string>& given) {
    const Recipe* r = recipe_for(cfg.model);
    if (r == nullptr) return nullptr;
    auto free = [&](const char* key) { return !detail::is_one_of(key, given); };
    if (free("lr")) cfg.lr = r->lr;
    // one-cycle has its own warm-up phase and plateau steps per epoch: neither takes --warmup
    if (free("warmup")) cfg.warmup = cfg.schedule == "onecycle" || cfg.schedule == "plateau" ? 0 : r->warmup;
    if (free("zero-init-residual")) cfg.zero_init_residual = r->zero_init_residual;
    if (free("batch-size")) cfg.batch_size = r->batch_size;
    return r;
}

/// One line naming the recipe in force and its values as `cfg` holds them, marking those the command line
/// set: "recipe cifar-resnet: lr 0.1 (--lr), warm-up 20 steps, zero-init residual on, batch 128".
inline std::string describe_recipe(const Recipe& r, const TrainConfig& cfg, const std::vector<std::string>& given) {
    auto mark = [&](const char* key) { return detail::is_one_of(key, given) ? std::string(" (--") + key + ")" : ""; };
    return "recipe " + r.name + ": lr " + detail::exact_double(cfg.lr) + mark("lr") + ", warm-up " +
           std::to_string(cfg.warmup) + " steps" + mark("warmup") + ", zero-init residual " +
           (cfg.zero_init_residual ? "on" : "off") + mark("zero-init-residual") + ", batch " +
           std::to_string(cfg.batch_size) + mark("batch-size");
}

/// The recipes as --help text: one line per family.
inline std::string recipes_help() {
    std::string out = "Default recipes (per model family; an explicit --lr, --warmup, --zero-init-residual or "
                      "--batch-size overrides; docs/models.md has the sweep):\n";
    for (const Recipe& r : recipes())
        out += "  " + r.name + ": lr " + detail::exact_double(r.lr) + ", warm-up " + std::to_string(r.warmup) +
               ", zero-init residual " + (r.zero_init_residual ? "on" : "off") + ", batch " +
               std::to_string(r.batch_size) + ": " + r.models + "\n";
    return out;
}

}  // namespace strata::train
