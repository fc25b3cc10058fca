#pragma once
/// @file
/// TrainConfig: everything that defines a training run (data, model, optimizer, schedule, augmentation, seed,
/// limits, files), its validation, and its text form "key=value" per line, which a checkpoint stores so that a
/// resumed run continues with exactly the configuration it was started with. The keys are the trainer's
/// command-line option names without the leading "--" ("batch-size", "weight-decay").
///
/// Every field is named once, in the table STRATA_TRAIN_CONFIG_FIELDS: the struct's members, the text form
/// (to_map, from_map), the resume rules, the keys older checkpoints may lack and the command-line options
/// (cli_options.hpp) are generated from it. Adding a field means adding one entry (and a check to validate()
/// when a value can be wrong).
///
/// The defaults are the Fashion-MNIST recipe: ResNet-18, SGD with momentum 0.9, lr 0.05, weight decay 5e-4
/// (not on batch-norm parameters and biases), a per-iteration cosine schedule, batch 128, normalised inputs, no
/// augmentation, one epoch. The trainer then applies the model's recipe (recipes.hpp) to lr, warmup,
/// zero_init_residual and batch_size unless the command line set them.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/shape.hpp"

// clang-format off
/// The fields of TrainConfig, one X(...) entry each, in the order --help lists them. The columns:
///  1. C++ type and 2. member name; 3. default value (no top-level comma: write `{}` for an empty list);
///  4. key: the option name without "--", and the key in the checkpoint's configuration text;
///  5. short option ("-d") or ""; 6. ResumeRule: fixed, inherit or fresh;
///  7. KeyPresence: required, or optional for keys added after the first "strata-train 1" checkpoints (an
///     older checkpoint without them reads the default, which is what those runs had);
///  8. CliForm: value, flag (bool, given = on), on_off (bool written "on"/"off") or list (comma-separated);
///  9. CliDefault: shown in --help, hidden, or recipe (the model's recipe sets it unless given; recipes.hpp);
/// 10. the CLI11 validator of the option (CLI::Validator() for none; expanded by cli_options.hpp only);
/// 11. the --help text.
#define STRATA_TRAIN_CONFIG_FIELDS(X)                                                                              \
    X(std::string, data_dir, "/usr/share/datasets/fashion-mnist", "data", "-d", inherit, required, value, shown,  \
      CLI::Validator(), "MNIST-format folder (train-/t10k- images/labels, raw or .gz)")                          \
    X(std::string, model, "resnet18", "model", "-m", fixed, required, value, shown, CLI::Validator(),             \
      "Model: a models::make_model name")                                                                        \
    X(std::string, norm, "batch", "norm", "", fixed, optional, value, shown, CLI::IsMember(norm_names()),        \
      "batch | none: the model's normalisation layers (none: no batch norm)")                                     \
    X(index_t, epochs, 1, "epochs", "-e", inherit, required, value, shown, CLI::Range(1, 1000000),                \
      "Epochs (a resumed run may raise it)")                                                                     \
    X(index_t, batch_size, 128, "batch-size", "-b", fixed, required, value, recipe, CLI::Range(1, 1 << 20),       \
      "Training batch size (--distributed: the global batch)")                                                   \
    X(index_t, eval_batch_size, 500, "eval-batch-size", "", inherit, required, value, shown,                      \
      CLI::Range(1, 1 << 20), "Batch size of the test evaluation")                                               \
    X(std::string, optimizer, "sgd", "optimizer", "", fixed, required, value, shown,                              \
      CLI::IsMember(optimizer_names()), "sgd | adam | adamw | rmsprop")                                          \
    X(double, lr, 0.05, "lr", "", fixed, required, value, recipe, CLI::NonNegativeNumber,                         \
      "Learning rate (one-cycle: the peak)")                                                                     \
    X(double, momentum, 0.9, "momentum", "", fixed, required, value, shown, CLI::Range(0.0, 0.999999),            \
      "SGD/RMSprop momentum; Adam/AdamW beta1")                                                                  \
    X(double, weight_decay, 5e-4, "weight-decay", "", fixed, required, value, shown, CLI::NonNegativeNumber,      \
      "Weight decay of conv/linear weights (none on BN, biases)")                                                \
    X(bool, nesterov, false, "nesterov", "", fixed, required, flag, hidden, CLI::Validator(),                     \
      "Nesterov momentum (SGD)")                                                                                 \
    X(std::string, schedule, "cosine", "schedule", "", fixed, required, value, shown,                             \
      CLI::IsMember(schedule_names()), "none | step | multistep | cosine | onecycle | plateau")                   \
    X(index_t, warmup, 0, "warmup", "", fixed, required, value, recipe, CLI::NonNegativeNumber,                   \
      "Linear warm-up iterations before the schedule")                                                           \
    X(bool, zero_init_residual, false, "zero-init-residual", "", fixed, optional, on_off, recipe,                 \
      CLI::Validator(), "start each residual branch at zero (its last batch-norm gamma; residual nets only)")     \
    X(double, warmup_start, 0.1, "warmup-start", "", fixed, required, value, shown, CLI::Range(1e-9, 1.0),        \
      "LR factor at the first warm-up iteration")                                                                \
    X(index_t, step_size, 0, "step-size", "", fixed, required, value, shown, CLI::NonNegativeNumber,              \
      "step: epochs between decays (0: ceil(epochs/3))")                                                         \
    X(std::vector<index_t>, milestones, {}, "milestones", "", fixed, required, list, hidden, CLI::PositiveNumber, \
      "multistep: epochs of the decays, e.g. 5,8 (default: 50%,75%)")                                            \
    X(double, gamma, 0.1, "gamma", "", fixed, required, value, shown, CLI::Range(1e-12, 1.0),                     \
      "step/multistep/plateau decay factor")                                                                     \
    X(index_t, patience, 2, "patience", "", fixed, required, value, shown, CLI::NonNegativeNumber,                \
      "plateau: epochs without test-loss improvement")                                                           \
    X(bool, augment, false, "augment", "", fixed, required, on_off, shown, CLI::Validator(),                      \
      "random crop (--crop-pad) + translation (--translate)")                                                    \
    X(index_t, crop_pad, 2, "crop-pad", "", fixed, required, value, shown, CLI::Range(0, 14),                     \
      "Augmentation: random-crop padding (pixels)")                                                              \
    X(index_t, translate, 2, "translate", "", fixed, required, value, shown, CLI::Range(0, 14),                   \
      "Augmentation: max random translation (pixels)")                                                           \
    X(std::string, normalize, "auto", "normalize", "", fixed, required, value, shown,                             \
      CLI::IsMember(normalize_names()), "auto (training-set statistics) | fashion | mnist | none")                \
    X(double, clip_grad_norm, 0.0, "clip-grad-norm", "", fixed, required, value, shown, CLI::NonNegativeNumber,   \
      "Clip the global gradient norm (0: off)")                                                                  \
    X(int, threads, 0, "threads", "-j", inherit, required, value, shown, CLI::Range(0, 1024),                     \
      "Threads (OpenMP and Eigen; 0: OMP_NUM_THREADS, else all cores or, distributed, this rank's share)")        \
    X(std::uint64_t, seed, 0, "seed", "", fixed, required, value, shown, CLI::Validator(),                        \
      "Seed of the weights, shuffling, augmentation and dropout")                                                \
    X(index_t, limit, 0, "limit", "", fixed, required, value, shown, CLI::NonNegativeNumber,                      \
      "Use the first N training images (0: all)")                                                                \
    X(index_t, test_limit, 0, "test-limit", "", fixed, required, value, shown, CLI::NonNegativeNumber,            \
      "Evaluate on the first N test images (0: all)")                                                            \
    X(std::string, checkpoint, "", "checkpoint", "", fresh, required, value, hidden, CLI::Validator(),            \
      "Checkpoint file, saved atomically after every epoch and on Ctrl-C/SIGTERM")                               \
    X(std::string, metrics, "", "metrics", "", inherit, required, value, hidden, CLI::Validator(),                \
      "Append one JSON line per epoch to this file")                                                             \
    X(bool, quiet, false, "quiet", "-q", fresh, required, flag, hidden, CLI::Validator(),                         \
      "No progress or epoch lines")                                                                              \
    X(index_t, stop_after, 0, "stop-after", "", fresh, required, value, hidden, CLI::NonNegativeNumber,           \
      "Stop as if interrupted after N steps in total (testing)")                                                 \
    X(bool, detect_anomaly, false, "detect-anomaly", "", fresh, optional, flag, hidden, CLI::Validator(),         \
      "Anomaly mode: stop at the first op whose output or gradient is NaN/Inf, naming it (slower)")
// clang-format on

namespace strata::train {

/// How a resumed run treats an option given on its command line (column 6 of STRATA_TRAIN_CONFIG_FIELDS).
enum class ResumeRule {
    fixed,    ///< must equal the checkpoint's value (it shaped the trajectory so far)
    inherit,  ///< the checkpoint's value unless given (epochs, data, threads, metrics, eval batch size)
    fresh     ///< always the command line's (checkpoint, quiet, stop-after, detect-anomaly)
};

/// Whether every checkpoint's configuration holds a key (column 7 of STRATA_TRAIN_CONFIG_FIELDS).
enum class KeyPresence {
    required,  ///< in every configuration since "strata-train 1": a configuration without it is malformed
    optional   ///< added later: a configuration without it (an older checkpoint) reads the default
};

/// How the command line gives a field (column 8 of STRATA_TRAIN_CONFIG_FIELDS).
enum class CliForm {
    value,   ///< --key VALUE
    flag,    ///< --key alone sets a bool
    on_off,  ///< --key on|off sets a bool
    list     ///< --key 5,8 (or repeated): a list of integers
};

/// What --help shows as a field's default (column 9 of STRATA_TRAIN_CONFIG_FIELDS).
enum class CliDefault {
    shown,   ///< "=value"
    hidden,  ///< nothing (an empty or "off" default says nothing useful)
    recipe   ///< nothing; the help text says the model's recipe sets it (recipes.hpp)
};

/// The configuration of a training run; see the file comment. Its members, defaults and documentation (the
/// --help text) are the entries of STRATA_TRAIN_CONFIG_FIELDS.
struct TrainConfig {
#define STRATA_X(type, member, default_value, ...) type member = default_value;
    STRATA_TRAIN_CONFIG_FIELDS(STRATA_X)
#undef STRATA_X
};

/// What the table says about one field, at run time (everything but its type, member, default and check).
struct ConfigField {
    const char* key;          ///< option name without "--", key of the text form
    const char* short_name;   ///< "-d" or ""
    ResumeRule resume_rule;   ///< see ResumeRule
    KeyPresence presence;     ///< see KeyPresence
    CliForm form;             ///< see CliForm
    CliDefault cli_default;   ///< see CliDefault
    const char* help;         ///< the --help text (cli_options.hpp adds the recipe and on|off notes)
};

/// Every field of TrainConfig, in the table's order.
inline const std::vector<ConfigField>& config_fields() {
    static const std::vector<ConfigField> all{
#define STRATA_X(type, member, default_value, key, short_name, rule, presence, form, shown, check, help) \
    {key, short_name, ResumeRule::rule, KeyPresence::presence, CliForm::form, CliDefault::shown, help},
        STRATA_TRAIN_CONFIG_FIELDS(STRATA_X)
#undef STRATA_X
    };
    return all;
}

/// Calls `f(key, member)` for every field of `c` (a TrainConfig, const or not), in the table's order.
template <class Config, class F>
void for_each_config_field(Config& c, F&& f) {
    static_assert(std::is_same_v<std::remove_const_t<Config>, TrainConfig>, "for_each_config_field: a TrainConfig");
#define STRATA_X(type, member, default_value, key, ...) f(key, c.member);
    STRATA_TRAIN_CONFIG_FIELDS(STRATA_X)
#undef STRATA_X
}

/// The optimizer names TrainConfig accepts.
inline const std::vector<std::string>& optimizer_names() {
    static const std::vector<std::string> names{"sgd", "adam", "adamw", "rmsprop"};
    return names;
}
/// The schedule names TrainConfig accepts.
inline const std::vector<std::string>& schedule_names() {
    static const std::vector<std::string> names{"none", "step", "multistep", "cosine", "onecycle", "plateau"};
    return names;
}
/// The normalisation-layer names TrainConfig accepts (--norm).
inline const std::vector<std::string>& norm_names() {
    static const std::vector<std::string> names{"batch", "none"};
    return names;
}
/// The normalisation names TrainConfig accepts.
inline const std::vector<std::string>& normalize_names() {
    static const std::vector<std::string> names{"auto", "fashion", "mnist", "none"};
    return names;
}

namespace detail {

inline bool is_one_of(const std::string& s, const std::vector<std::string>& names) {
    for (const auto& n : names)
        if (n == s) return true;
    return false;
}

inline std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

/// A finite double as the shortest "%.<digits>g" text that reads back to the same value.
inline std::string exact_double(double v) {
    char buf[40];
    for (int digits = 1; digits <= 17; ++digits) {
        std::snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    return buf;
}

}  // namespace detail

/// Throws ArgumentError naming the option (as on the command line) and the value when `c` is not a valid
/// configuration: an unknown --norm, non-positive epochs or batch sizes, a negative or non-finite lr, momentum
/// outside [0, 1), negative weight decay, unknown optimizer/schedule/normalisation, warm-up with onecycle or
/// plateau (which have their own), a milestone < 1, gamma outside (0, 1], negative counts, or stop-after < 0.
inline void validate(const TrainConfig& c) {
    check<ArgumentError>(!c.data_dir.empty(), "--data: the data directory must not be empty");
    check<ArgumentError>(!c.model.empty(), "--model: the model name must not be empty");
    check<ArgumentError>(detail::is_one_of(c.norm, norm_names()), "--norm: unknown value '", c.norm, "'; valid: ",
                         detail::joined(norm_names()));
    check<ArgumentError>(c.epochs >= 1, "--epochs must be at least 1, got ", c.epochs);
    check<ArgumentError>(c.batch_size >= 1, "--batch-size must be at least 1, got ", c.batch_size);
    check<ArgumentError>(c.eval_batch_size >= 1, "--eval-batch-size must be at least 1, got ", c.eval_batch_size);
    check<ArgumentError>(detail::is_one_of(c.optimizer, optimizer_names()), "--optimizer: unknown optimizer '",
                         c.optimizer, "'; valid: ", detail::joined(optimizer_names()));
    check<ArgumentError>(std::isfinite(c.lr) && c.lr >= 0, "--lr must be finite and >= 0, got ", c.lr);
    check<ArgumentError>(c.momentum >= 0 && c.momentum < 1, "--momentum must be in [0, 1), got ", c.momentum);
    check<ArgumentError>(std::isfinite(c.weight_decay) && c.weight_decay >= 0,
                         "--weight-decay must be finite and >= 0, got ", c.weight_decay);
    check<ArgumentError>(!c.nesterov || (c.optimizer == "sgd" && c.momentum > 0),
                         "--nesterov needs --optimizer sgd and a momentum > 0");
    check<ArgumentError>(detail::is_one_of(c.schedule, schedule_names()), "--schedule: unknown schedule '",
                         c.schedule, "'; valid: ", detail::joined(schedule_names()));
    check<ArgumentError>(c.warmup >= 0, "--warmup must be >= 0 steps, got ", c.warmup);
    check<ArgumentError>(c.warmup == 0 || (c.schedule != "onecycle" && c.schedule != "plateau"),
                         "--warmup cannot be combined with --schedule ", c.schedule,
                         (c.schedule == "onecycle" ? " (one-cycle has its own warm-up phase)"
                                                   : " (plateau steps per epoch on a metric)"));
    check<ArgumentError>(c.warmup_start > 0 && c.warmup_start <= 1, "--warmup-start must be in (0, 1], got ",
                         c.warmup_start);
    check<ArgumentError>(c.step_size >= 0, "--step-size must be >= 0 epochs, got ", c.step_size);
    for (index_t m : c.milestones) check<ArgumentError>(m >= 1, "--milestones must be epochs >= 1, got ", m);
    check<ArgumentError>(c.gamma > 0 && c.gamma <= 1, "--gamma must be in (0, 1], got ", c.gamma);
    check<ArgumentError>(c.patience >= 0, "--patience must be >= 0, got ", c.patience);
    check<ArgumentError>(c.crop_pad >= 0 && c.translate >= 0, "--crop-pad and --translate must be >= 0, got ",
                         c.crop_pad, " and ", c.translate);
    check<ArgumentError>(detail::is_one_of(c.normalize, normalize_names()), "--normalize: unknown value '",
                         c.normalize, "'; valid: ", detail::joined(normalize_names()));
    check<ArgumentError>(std::isfinite(c.clip_grad_norm) && c.clip_grad_norm >= 0,
                         "--clip-grad-norm must be finite and >= 0, got ", c.clip_grad_norm);
    check<ArgumentError>(c.threads >= 0, "--threads must be >= 0, got ", c.threads);
    check<ArgumentError>(c.limit >= 0 && c.test_limit >= 0, "--limit and --test-limit must be >= 0, got ", c.limit,
                         " and ", c.test_limit);
    check<ArgumentError>(c.stop_after >= 0, "--stop-after must be >= 0, got ", c.stop_after);
}

namespace detail {

/// Parses `text` (the value of `key`) completely as a T, or throws FormatError naming the key.
template <class T>
T parse_value(const std::string& key, const std::string& text) {
    std::istringstream in(text);
    T v{};
    in >> v;
    check<FormatError>(!in.fail() && in.peek() == std::char_traits<char>::eof() && !text.empty(),
                       "configuration: bad value '", text, "' for '", key, "'");
    return v;
}

inline double parse_double(const std::string& key, const std::string& text) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    check<FormatError>(!text.empty() && end == text.c_str() + text.size(), "configuration: bad number '", text,
                       "' for '", key, "'");
    return v;
}

inline bool parse_bool(const std::string& key, const std::string& text) {
    check<FormatError>(text == "on" || text == "off", "configuration: bad value '", text, "' for '", key,
                       "' (expected on or off)");
    return text == "on";
}

/// The text form of a value: strings as they are, booleans "on"/"off", doubles exactly, lists comma-separated.
inline std::string format_value(const std::string& v) { return v; }
inline std::string format_value(bool v) { return v ? "on" : "off"; }
inline std::string format_value(double v) { return exact_double(v); }
template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
std::string format_value(T v) {
    return std::to_string(v);
}
inline std::string format_value(const std::vector<index_t>& v) {
    std::string out;
    for (index_t m : v) out += (out.empty() ? "" : ",") + std::to_string(m);
    return out;
}

/// Reads `text`, the value of `key` in format_value's form, into `out`; throws FormatError naming the key.
inline void read_value(const std::string&, const std::string& text, std::string& out) { out = text; }
inline void read_value(const std::string& key, const std::string& text, bool& out) { out = parse_bool(key, text); }
inline void read_value(const std::string& key, const std::string& text, double& out) {
    out = parse_double(key, text);
}
template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
void read_value(const std::string& key, const std::string& text, T& out) {
    out = parse_value<T>(key, text);
}
inline void read_value(const std::string& key, const std::string& text, std::vector<index_t>& out) {
    out.clear();
    std::istringstream items(text);
    for (std::string item; std::getline(items, item, ',');) out.push_back(parse_value<index_t>(key, item));
}

}  // namespace detail

/// The configuration as an ordered map from key (option name without "--") to value text. Doubles are
/// written exactly (they read back bit for bit); booleans as "on"/"off"; milestones comma-separated.
inline std::map<std::string, std::string> to_map(const TrainConfig& c) {
    std::map<std::string, std::string> out;
    for_each_config_field(c, [&](const char* key, const auto& value) {
        out.emplace(key, detail::format_value(value));
    });
    return out;
}

/// The keys added to the configuration after checkpoints of "strata-train 1" were first written (KeyPresence::
/// optional in the table): a configuration without them (an older checkpoint) means their defaults ("norm"
/// batch, "zero-init-residual" off, "detect-anomaly" off: what those runs had).
inline const std::vector<std::string>& optional_config_keys() {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> out;
        for (const ConfigField& f : config_fields())
            if (f.presence == KeyPresence::optional) out.push_back(f.key);
        return out;
    }();
    return keys;
}

/// The configuration of `map` (as to_map writes it). Every key of to_map must be present, except the
/// optional_config_keys() (then their defaults apply), and no other: throws FormatError naming a missing or
/// unknown key or a value that does not parse.
inline TrainConfig from_map(const std::map<std::string, std::string>& map) {
    TrainConfig c;
    const auto expected = to_map(c);
    for (const auto& kv : map)
        check<FormatError>(expected.count(kv.first) != 0, "configuration: unknown key '", kv.first, "'");
    auto get = [&](const char* key) -> const std::string& {
        auto it = map.find(key);
        if (it == map.end() && detail::is_one_of(key, optional_config_keys())) return expected.at(key);
        check<FormatError>(it != map.end(), "configuration: missing key '", key, "'");
        return it->second;
    };
    for_each_config_field(c, [&](const char* key, auto& value) { detail::read_value(key, get(key), value); });
    return c;
}

/// The configuration as text: one "key=value" line per entry of to_map, in key order.
inline std::string to_text(const TrainConfig& c) {
    std::string out;
    for (const auto& kv : to_map(c)) out += kv.first + "=" + kv.second + "\n";
    return out;
}

/// Parses to_text's output; throws FormatError on a line without '=', a duplicate key, or as from_map.
inline TrainConfig from_text(const std::string& text) {
    std::map<std::string, std::string> map;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        const auto eq = line.find('=');
        check<FormatError>(eq != std::string::npos, "configuration: line '", line, "' has no '='");
        check<FormatError>(map.emplace(line.substr(0, eq), line.substr(eq + 1)).second,
                           "configuration: duplicate key '", line.substr(0, eq), "'");
    }
    return from_map(map);
}

/// The ResumeRule of configuration key `key`.
inline ResumeRule resume_rule(const std::string& key) {
    for (const ConfigField& f : config_fields())
        if (key == f.key) return f.resume_rule;
    return ResumeRule::fixed;
}

/// The configuration of a resumed run: `saved` (from the checkpoint), with the keys in `given` (options given
/// on the command line) taken from `command_line` where their ResumeRule allows it, and every `fresh` key from
/// `command_line`. Throws ArgumentError naming the option and both values when a `fixed` option was given with
/// a value other than the checkpoint's.
inline TrainConfig merge_for_resume(const TrainConfig& saved, const TrainConfig& command_line,
                                    const std::vector<std::string>& given) {
    auto out = to_map(saved);
    const auto cli = to_map(command_line);
    for (const auto& kv : cli)
        if (resume_rule(kv.first) == ResumeRule::fresh) out[kv.first] = kv.second;
    for (const std::string& key : given) {
        auto it = cli.find(key);
        if (it == cli.end()) continue;  // not a configuration option (e.g. --resume itself)
        if (resume_rule(key) == ResumeRule::fixed)
            check<ArgumentError>(it->second == out[key], "--", key, " ", it->second, " differs from the checkpoint's ",
                                 out[key].empty() ? "(empty)" : out[key],
                                 ": a resumed run keeps the configuration it was started with (drop --", key,
                                 " or start a new run without --resume)");
        else
            out[key] = it->second;
    }
    return from_map(out);
}

}  // namespace strata::train
