#pragma once
/// @file
/// TrainConfig: everything that defines a training run (data, model, optimizer, schedule, augmentation, seed,
/// limits, files), its validation, and its text form "key=value" per line, which a checkpoint stores so that a
/// resumed run continues with exactly the configuration it was started with. The keys are the trainer's
/// command-line option names without the leading "--" ("batch-size", "weight-decay").
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
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/shape.hpp"

namespace strata::train {

/// The configuration of a training run; see the file comment.
struct TrainConfig {
    std::string data_dir = "/usr/share/datasets/fashion-mnist";  ///< MNIST-format folder
    std::string model = "resnet18";                              ///< a models::make_model name
    std::string norm = "batch";                                  ///< batch | none (no normalisation layers)
    index_t epochs = 1;
    index_t batch_size = 128;
    index_t eval_batch_size = 500;                               ///< batch size of the test evaluation
    std::string optimizer = "sgd";                               ///< sgd | adam | adamw | rmsprop
    double lr = 0.05;
    double momentum = 0.9;                                       ///< SGD/RMSprop momentum, Adam/AdamW beta1
    double weight_decay = 5e-4;                                  ///< on conv/linear weights only
    bool nesterov = false;                                       ///< SGD only
    std::string schedule = "cosine";                             ///< none|step|multistep|cosine|onecycle|plateau
    index_t warmup = 0;                                          ///< linear warm-up steps (iterations)
    double warmup_start = 0.1;                                   ///< lr factor at the first warm-up step
    index_t step_size = 0;                                       ///< step: epochs per decay (0: ceil(epochs/3))
    std::vector<index_t> milestones;                             ///< multistep, in epochs (empty: 50%, 75%)
    double gamma = 0.1;                                          ///< step/multistep/plateau decay factor
    index_t patience = 2;                                        ///< plateau: epochs without improvement
    bool augment = false;                                        ///< random crop (padding) + translation
    index_t crop_pad = 2;                                        ///< augmentation: crop padding in pixels
    index_t translate = 2;                                       ///< augmentation: max translation in pixels
    std::string normalize = "auto";                              ///< auto | fashion | mnist | none
    double clip_grad_norm = 0.0;                                 ///< max global gradient norm (0: off)
    int threads = 0;                                             ///< 0: the OpenMP/Eigen default
    std::uint64_t seed = 0;
    index_t limit = 0;                                           ///< training images used (0: all)
    index_t test_limit = 0;                                      ///< test images used (0: all)
    std::string checkpoint;                                      ///< checkpoint path (empty: none)
    std::string metrics;                                         ///< JSON-lines metrics path (empty: none)
    bool quiet = false;                                          ///< no progress or epoch lines
    index_t stop_after = 0;                                      ///< act as if interrupted after N steps (tests)
    bool detect_anomaly = false;                                 ///< anomaly mode: stop at the first non-finite op
    bool zero_init_residual = false;                             ///< residual branches start at zero (last BN gamma)
};

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

/// The configuration as an ordered map from key (option name without "--") to value text. Doubles are
/// written exactly (they read back bit for bit); booleans as "on"/"off"; milestones comma-separated.
inline std::map<std::string, std::string> to_map(const TrainConfig& c) {
    auto i = [](auto v) { return std::to_string(v); };
    auto d = [](double v) { return detail::exact_double(v); };
    auto b = [](bool v) { return std::string(v ? "on" : "off"); };
    std::string milestones;
    for (index_t m : c.milestones) milestones += (milestones.empty() ? "" : ",") + std::to_string(m);
    return {{"data", c.data_dir},        {"model", c.model},
            {"norm", c.norm},            {"detect-anomaly", b(c.detect_anomaly)},
            {"epochs", i(c.epochs)},     {"batch-size", i(c.batch_size)},
            {"eval-batch-size", i(c.eval_batch_size)},
            {"optimizer", c.optimizer},  {"lr", d(c.lr)},
            {"momentum", d(c.momentum)}, {"weight-decay", d(c.weight_decay)},
            {"nesterov", b(c.nesterov)}, {"schedule", c.schedule},
            {"warmup", i(c.warmup)},     {"warmup-start", d(c.warmup_start)},
            {"step-size", i(c.step_size)}, {"milestones", milestones},
            {"gamma", d(c.gamma)},       {"patience", i(c.patience)},
            {"augment", b(c.augment)},   {"crop-pad", i(c.crop_pad)},
            {"translate", i(c.translate)}, {"normalize", c.normalize},
            {"clip-grad-norm", d(c.clip_grad_norm)}, {"threads", i(c.threads)},
            {"seed", i(c.seed)},         {"limit", i(c.limit)},
            {"test-limit", i(c.test_limit)}, {"checkpoint", c.checkpoint},
            {"metrics", c.metrics},      {"quiet", b(c.quiet)},
            {"stop-after", i(c.stop_after)}, {"zero-init-residual", b(c.zero_init_residual)}};
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

}  // namespace detail

/// The keys added to the configuration after checkpoints of "strata-train 1" were first written: a
/// configuration without them (an older checkpoint) means their defaults ("norm" batch, "detect-anomaly" off,
/// "zero-init-residual" off: what those runs had).
inline const std::vector<std::string>& optional_config_keys() {
    static const std::vector<std::string> keys{"norm", "detect-anomaly", "zero-init-residual"};
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
    using detail::parse_bool;
    using detail::parse_double;
    using detail::parse_value;
    c.data_dir = get("data");
    c.model = get("model");
    c.norm = get("norm");
    c.detect_anomaly = parse_bool("detect-anomaly", get("detect-anomaly"));
    c.epochs = parse_value<index_t>("epochs", get("epochs"));
    c.batch_size = parse_value<index_t>("batch-size", get("batch-size"));
    c.eval_batch_size = parse_value<index_t>("eval-batch-size", get("eval-batch-size"));
    c.optimizer = get("optimizer");
    c.lr = parse_double("lr", get("lr"));
    c.momentum = parse_double("momentum", get("momentum"));
    c.weight_decay = parse_double("weight-decay", get("weight-decay"));
    c.nesterov = parse_bool("nesterov", get("nesterov"));
    c.schedule = get("schedule");
    c.warmup = parse_value<index_t>("warmup", get("warmup"));
    c.warmup_start = parse_double("warmup-start", get("warmup-start"));
    c.step_size = parse_value<index_t>("step-size", get("step-size"));
    c.milestones.clear();
    std::istringstream ms(get("milestones"));
    for (std::string item; std::getline(ms, item, ',');) c.milestones.push_back(parse_value<index_t>("milestones", item));
    c.gamma = parse_double("gamma", get("gamma"));
    c.patience = parse_value<index_t>("patience", get("patience"));
    c.augment = parse_bool("augment", get("augment"));
    c.crop_pad = parse_value<index_t>("crop-pad", get("crop-pad"));
    c.translate = parse_value<index_t>("translate", get("translate"));
    c.normalize = get("normalize");
    c.clip_grad_norm = parse_double("clip-grad-norm", get("clip-grad-norm"));
    c.threads = parse_value<int>("threads", get("threads"));
    c.seed = parse_value<std::uint64_t>("seed", get("seed"));
    c.limit = parse_value<index_t>("limit", get("limit"));
    c.test_limit = parse_value<index_t>("test-limit", get("test-limit"));
    c.checkpoint = get("checkpoint");
    c.metrics = get("metrics");
    c.quiet = parse_bool("quiet", get("quiet"));
    c.stop_after = parse_value<index_t>("stop-after", get("stop-after"));
    c.zero_init_residual = parse_bool("zero-init-residual", get("zero-init-residual"));
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

/// How a resumed run treats an option given on its command line.
enum class ResumeRule {
    fixed,    ///< must equal the checkpoint's value (it shaped the trajectory so far)
    inherit,  ///< the checkpoint's value unless given (epochs, data, threads, metrics, eval batch size)
    fresh     ///< always the command line's (checkpoint, quiet, stop-after, detect-anomaly)
};

/// The ResumeRule of configuration key `key`.
inline ResumeRule resume_rule(const std::string& key) {
    if (key == "checkpoint" || key == "quiet" || key == "stop-after" || key == "detect-anomaly")
        return ResumeRule::fresh;
    if (key == "epochs" || key == "data" || key == "threads" || key == "metrics" || key == "eval-batch-size")
        return ResumeRule::inherit;
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
