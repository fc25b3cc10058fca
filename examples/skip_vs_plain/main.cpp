// skip_vs_plain: plain nets vs their residual twins vs auxiliary heads, with and without batch-norm, trained on
// the same data, seeds and budget. Records per-step training loss, per-epoch train/test error and per-layer
// gradient norms (at initialisation and every K steps) as CSV, draws SVG plots, and writes a Markdown summary.
// See docs/experiment.md. Usage: skip_vs_plain [--help]; skip_vs_plain --verify-outputs DIR.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include <CLI/CLI.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "strata/data/data_loader.hpp"
#include "strata/data/mnist.hpp"
#include "csv.hpp"
#include "grad_norms.hpp"
#include "settings.hpp"
#include "summary.hpp"
#include "svg_plot.hpp"
#include "strata/nn/deep_supervision.hpp"
#include "strata/optim/adam.hpp"
#include "strata/optim/clip.hpp"
#include "strata/optim/sgd.hpp"
#include "strata/train/evaluate.hpp"

using namespace strata;
namespace ex = strata::experiment;

namespace {

// The default matrix (docs/experiment.md): with batch-norm, degradation (plain-20 vs plain-56) and shortcuts
// (resnet-56); without normalisation, under the recipe that lets the shallow and the residual nets learn: does
// plain-56 learn, do heads make it learn, does resnet-56 learn. The heads with batch-norm (plain56-aux-bn, dsn-bn
// beside dsn-noaux-bn) are a second run: the ten settings together do not fit the 10-minute budget.
const std::vector<std::string> default_settings = {"plain20-bn",   "plain56-bn",   "resnet56-bn",      "plain20-none",
                                                   "plain56-none", "plain56-aux-none", "resnet56-none"};
const std::vector<std::string> loss_header = {"setting", "step", "loss", "total_loss", "batch_error"};
const std::vector<std::string> epoch_header = {"setting", "epoch", "step", "train_loss", "train_error", "test_loss", "test_error"};
const std::vector<std::string> grad_header = {"setting", "step", "layer_index", "layer_name", "norm"};
const std::vector<std::string> svg_files = {"train_loss.svg", "test_error.svg", "grad_norms_init.svg", "grad_norms_train.svg"};

// How the settings of one panel train: their images, budget and optimizer.
struct Recipe {
    long limit = 5000;             // training images (the first N)
    long epochs = 3, steps = 0;    // the budget: steps if positive, else epochs
    long batch = 128;
    std::string optimizer = "sgd";  // "sgd" (momentum) or "adam" (betas 0.9/0.999, eps 1e-8); no weight decay
    double lr = 0.1, momentum = 0.9;
    long warmup = 20;               // linear learning-rate warm-up steps (0: constant lr)
    double clip = 0;                // clip the global gradient norm to this (0: off)
    bool keep_last = false;         // keep each epoch's last partial batch (default: dropped)

    bool operator==(const Recipe& o) const {
        return limit == o.limit && epochs == o.epochs && steps == o.steps && batch == o.batch && optimizer == o.optimizer &&
               lr == o.lr && (optimizer != "sgd" || momentum == o.momentum) && warmup == o.warmup && clip == o.clip &&
               keep_last == o.keep_last;
    }
    /// "5000 images, batch 128 (last partial batch dropped), 3 epochs, SGD lr 0.1 momentum 0.9, warm-up 20 steps".
    std::string describe() const {
        char text[320];
        const std::string budget = steps > 0 ? std::to_string(steps) + " steps" : std::to_string(epochs) + " epochs";
        const std::string opt = optimizer == "adam" ? "Adam" : "SGD";
        char rate[96];
        if (optimizer == "sgd")
            std::snprintf(rate, sizeof rate, "lr %g momentum %g", lr, momentum);
        else
            std::snprintf(rate, sizeof rate, "lr %g", lr);
        std::snprintf(text, sizeof text, "%ld images, batch %ld (last partial batch %s), %s, %s %s, %s, %s", limit, batch,
                      keep_last ? "kept" : "dropped", budget.c_str(), opt.c_str(), rate,
                      warmup > 0 ? ("linear warm-up over " + std::to_string(warmup) + " steps").c_str() : "no warm-up",
                      clip > 0 ? ("gradient norm clipped at " + ex::significant(clip)).c_str() : "no clipping");
        return text;
    }
};

// The recipes of the default run (docs/experiment.md, "The recipes").
Recipe default_bn_recipe() { return {}; }
Recipe default_none_recipe() {
    Recipe r;
    r.limit = 1000;
    r.steps = 200;
    r.batch = 32;
    r.optimizer = "adam";
    r.lr = 1e-3;
    r.warmup = 50;
    return r;
}

struct Config {
    std::string data_dir = "/usr/share/datasets/fashion-mnist", out = "skip_vs_plain_out";
    long test_limit = 1000, grad_every = 10, smooth = 10;
    Recipe bn = default_bn_recipe();      // the settings with batch-norm
    Recipe none = default_none_recipe();  // the settings without normalisation
    double diverge_above = 1000;          // a main loss above this (or a non-finite loss) stops a setting
    int threads = 0;
    std::uint64_t seed = 1;
    bool init_only = false;
    std::vector<ex::Setting> settings;
};

struct EpochRecord {
    double epoch = 0;
    long step = 0;
    double train_loss = 0, train_error = 0, test_loss = 0, test_error = 0;
};

struct Result {
    ex::Setting setting;
    long budget = 0;               // steps asked for
    long diverged_at = -1;         // step whose loss was not finite, or -1
    std::vector<double> loss;      // main-output loss of every step
    std::vector<EpochRecord> epochs;
    std::vector<std::pair<long, std::vector<ex::LayerGradNorm>>> grads;  // (step, norms) with step 0 first
    double seconds = 0;
};

// The output files, open for the whole run so that a killed run keeps what it finished.
struct Records {
    ex::CsvWriter loss, epochs, grads;
    explicit Records(const std::string& dir)
        : loss(dir + "/train_loss.csv", loss_header), epochs(dir + "/epochs.csv", epoch_header),
          grads(dir + "/grad_norms.csv", grad_header) {}
};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The optimizer a recipe names, behind one interface.
struct Optimizer {
    std::unique_ptr<optim::SGD<float>> sgd;
    std::unique_ptr<optim::Adam<float>> adam;
    Optimizer(const Recipe& rc, const std::vector<Parameter<float>*>& params) {
        if (rc.optimizer == "adam")
            adam = std::make_unique<optim::Adam<float>>(params, optim::AdamOptions(rc.lr));
        else
            sgd = std::make_unique<optim::SGD<float>>(params, optim::SGDOptions(rc.lr).momentum(rc.momentum));
    }
    void zero_grad() { sgd ? sgd->zero_grad() : adam->zero_grad(); }
    void step() { sgd ? sgd->step() : adam->step(); }
    void set_lr(double lr) { sgd ? sgd->set_lr(0, lr) : adam->set_lr(0, lr); }
};

// The heads' loss weights: CIFAR- and ImageNet-style heads a constant 0.3 (GoogLeNet); the deeply-supervised
// net's companions 0.3 fading linearly to zero at the end of the budget (Lee et al. 2014), t = the step.
nn::DeepSupervisionOptions head_weights(const ex::Setting& s, long budget) {
    nn::DeepSupervisionOptions o;  // cross-entropy for the output and the heads
    if (s.depth.dsn && budget > 0) o.weights({nn::AuxWeight::linear_decay(0.3, static_cast<double>(budget))});
    return o;
}

// Trains (or, with a budget of 0, only measures at initialisation) one setting with the recipe of its panel.
Result run(const ex::Setting& setting, const Config& cfg, const data::Dataset& train, const data::Dataset& test, Records& rec) {
    const auto start = std::chrono::steady_clock::now();
    Result r;
    r.setting = setting;
    const std::string name = setting.name();
    const Recipe& rc = setting.norm == nn::Norm::batch ? cfg.bn : cfg.none;
    const data::Dataset images = train.head(std::min<index_t>(rc.limit, train.size()));
    auto net = ex::build_network<float>(setting, train.channels(), train.num_classes(), train.height(), cfg.seed);
    Optimizer optimizer(rc, net->parameters());
    data::LoaderOptions lo;
    lo.batch_size = rc.batch;
    lo.seed = cfg.seed;
    lo.drop_last = !rc.keep_last;
    data::DataLoader loader(images, lo);
    r.budget = cfg.init_only ? 0 : setting.steps >= 0 ? setting.steps : rc.steps > 0 ? rc.steps : rc.epochs * loader.num_batches();
    nn::DeepSupervisionLoss<float> criterion(head_weights(setting, r.budget));
    Tape tape;
    data::Batch batch;
    double epoch_loss = 0, epoch_wrong = 0, epoch_seen = 0;
    auto end_epoch = [&](long step) {
        EpochRecord e;
        e.step = step;
        e.epoch = static_cast<double>(step) / static_cast<double>(loader.num_batches());
        e.train_loss = epoch_loss / epoch_seen;
        e.train_error = epoch_wrong / epoch_seen;
        const train::Evaluation t = train::evaluate(*net, test, 250, tape);
        e.test_loss = t.loss;
        e.test_error = 1.0 - t.accuracy;
        rec.epochs.row(name, e.epoch, e.step, e.train_loss, e.train_error, e.test_loss, e.test_error);
        r.epochs.push_back(e);
        std::printf("  %-20s epoch %5.2f  step %4ld  train loss %.4f  train error %5.1f%%  test error %5.1f%%  (%.0f s)\n",
                    name.c_str(), e.epoch, step, e.train_loss, 100 * e.train_error, 100 * e.test_error, seconds_since(start));
        std::fflush(stdout);
        epoch_loss = epoch_wrong = epoch_seen = 0;
    };
    for (long step = 0; step < std::max(r.budget, 1L);) {
        if (!loader.next(batch)) {
            end_epoch(step);
            continue;
        }
        tape.rewind();
        const nn::Outputs<float> out = nn::forward_with_aux(*net, tape.constant(batch.images));
        Var<float> total = criterion(out, batch.labels, static_cast<double>(step));
        const double loss = criterion.parts().main;
        if (!std::isfinite(total.item()) || !(loss <= cfg.diverge_above)) {
            r.diverged_at = step;
            rec.loss.row(name, step, loss, static_cast<double>(total.item()), std::nan(""));
            std::printf("  %-20s diverged at step %ld (loss %g); stopping this setting\n", name.c_str(), step, loss);
            break;
        }
        optimizer.zero_grad();
        total.backward();
        if (step % cfg.grad_every == 0) {
            r.grads.emplace_back(step, ex::conv_grad_norms(*net));
            for (const auto& g : r.grads.back().second) rec.grads.row(name, step, g.index, g.name, g.norm);
            std::printf("  %-20s step %4ld  loss %.4f  first-conv grad %.3g  last-conv grad %.3g  (%.0f s)\n", name.c_str(),
                        step, loss, r.grads.back().second.front().norm, r.grads.back().second.back().norm, seconds_since(start));
            std::fflush(stdout);
        }
        if (r.budget == 0) break;
        const auto predicted = train::argmax_rows(out.main.value());
        double wrong = 0;
        for (std::size_t i = 0; i < predicted.size(); ++i) wrong += predicted[i] != batch.labels[i];
        rec.loss.row(name, step, loss, static_cast<double>(total.item()), wrong / static_cast<double>(batch.size()));
        r.loss.push_back(loss);
        epoch_loss += loss * static_cast<double>(batch.size());
        epoch_wrong += wrong;
        epoch_seen += static_cast<double>(batch.size());
        if (rc.clip > 0) optim::clip_grad_norm(net->parameters(), rc.clip);  // after recording the norms above
        // Linear warm-up: step s < warmup trains at lr (s + 1) / warmup, then at lr.
        if (rc.warmup > 0)
            optimizer.set_lr(rc.lr * static_cast<double>(std::min(step + 1, rc.warmup)) / static_cast<double>(rc.warmup));
        optimizer.step();
        ++step;
        if (step == r.budget && epoch_seen > 0) end_epoch(step);
    }
    for (ex::CsvWriter* w : {&rec.loss, &rec.epochs, &rec.grads}) w->flush();
    r.seconds = seconds_since(start);
    return r;
}

// ---- plots ---------------------------------------------------------------------------------------------------

std::string family_color(const ex::Setting& s) {
    static const std::map<std::string, std::string> colors = {
        {"plain", "#d62728"}, {"plain+aux", "#ff7f0e"}, {"residual", "#1f77b4"}, {"residual+aux", "#2ca02c"}};
    return colors.at(s.family());
}

// One panel per normalisation present; colour by family, dash by depth (the shallowest solid).
template <class Fill>
ex::Figure by_norm(const std::vector<Result>& results, const std::string& title, const std::string& x_label,
                   const std::string& y_label, bool log_y, Fill fill) {
    std::set<std::string> depth_set;
    for (const auto& r : results) depth_set.insert(r.setting.depth.str());
    std::vector<std::pair<int, std::string>> depths;
    for (const auto& d : depth_set) depths.emplace_back(ex::parse_depth(d).layers, d);
    std::sort(depths.begin(), depths.end());
    const std::vector<std::string> dashes = {"", "7,4", "2,3", "9,3,2,3"};
    ex::Figure fig;
    fig.title = title;
    for (nn::Norm norm : {nn::Norm::batch, nn::Norm::none}) {
        ex::Panel panel;
        panel.title = norm == nn::Norm::batch ? "with batch-norm" : "without normalisation";
        panel.x_label = x_label;
        panel.y_label = y_label;
        panel.log_y = log_y;
        for (const auto& r : results) {
            if (r.setting.norm != norm) continue;
            ex::Series s;
            s.label = r.setting.name();
            s.color = family_color(r.setting);
            for (std::size_t k = 0; k < depths.size(); ++k)
                if (depths[k].second == r.setting.depth.str()) s.dash = dashes[k % dashes.size()];
            if (fill(r, s)) panel.series.push_back(std::move(s));
        }
        if (!panel.series.empty()) fig.panels.push_back(std::move(panel));
    }
    return fig;
}

void write_plots(const std::vector<Result>& results, const Config& cfg) {
    const std::string dir = cfg.out + "/";
    ex::Figure loss = by_norm(results, "Training loss (moving average of " + std::to_string(cfg.smooth) + " steps)",
                              "step", "cross-entropy of the main output", false, [&](const Result& r, ex::Series& s) {
                                  s.y = ex::moving_average(r.loss, static_cast<std::size_t>(cfg.smooth));
                                  if (r.diverged_at >= 0) {
                                      // Drawn as diverged: the curve stops where the blow-up begins (the average
                                      // first exceeds the initial loss by 1), and the legend says where it diverged.
                                      std::size_t keep = 0;
                                      while (keep < s.y.size() && s.y[keep] <= s.y.front() + 1.0) ++keep;
                                      s.y.resize(keep);
                                      s.label += " (diverged at step " + std::to_string(r.diverged_at) + ")";
                                  }
                                  for (std::size_t i = 0; i < s.y.size(); ++i) s.x.push_back(static_cast<double>(i));
                                  return !s.y.empty() || r.diverged_at >= 0;
                              });
    ex::write_svg(dir + "train_loss.svg", loss);
    ex::Figure err = by_norm(results, "Test error (" + std::to_string(cfg.test_limit) + " test images)", "epoch",
                             "test error (%)", false, [](const Result& r, ex::Series& s) {
                                 for (const auto& e : r.epochs) s.x.push_back(e.epoch), s.y.push_back(100 * e.test_error);
                                 s.markers = true;
                                 return !s.x.empty();
                             });
    ex::write_svg(dir + "test_error.svg", err);
    ex::Figure init = by_norm(results, "Weight-gradient L2 norm of each conv at initialisation (one batch)",
                              "conv layer (0 = first, input side)", "gradient norm", true, [](const Result& r, ex::Series& s) {
                                  if (r.grads.empty() || r.grads.front().first != 0) return false;
                                  for (const auto& g : r.grads.front().second) s.x.push_back(g.index), s.y.push_back(g.norm);
                                  return true;
                              });
    init.note = "Main-path convs (no heads, no projection shortcuts). Zero norms are not drawn: without normalisation, "
                "a residual block's first conv gets no gradient while its zero-initialised last conv is zero.";
    ex::write_svg(dir + "grad_norms_init.svg", init);
    ex::Figure during = by_norm(results, "First conv's weight-gradient norm during training", "step", "gradient norm",
                                true, [](const Result& r, ex::Series& s) {
                                    for (const auto& [step, norms] : r.grads) s.x.push_back(static_cast<double>(step)), s.y.push_back(norms.front().norm);
                                    s.markers = r.grads.size() == 1;
                                    return !s.x.empty();
                                });
    ex::write_svg(dir + "grad_norms_train.svg", during);
}

// ---- summary ---------------------------------------------------------------------------------------------------

// PyTorch 1.13 on this machine, same data, settings and recipes (benchmarks/torch_skip_vs_plain.py, ranges over
// seeds 1-4; docs/experiment.md): shown only for a setting trained with the default recipe of its panel.
struct Reference {
    const char* loss;        // final train loss
    const char* test_error;  // final test error
    const char* grad;        // first-conv gradient norm at initialisation (the recipe's first batch)
};
std::string reference_markdown(const std::vector<Result>& results, const Config& cfg) {
    const std::map<std::string, Reference> pytorch = {
        {"plain20-bn", {"0.61-0.73", "-", "-"}},
        {"plain56-bn", {"1.46-2.13", "-", "~350"}},
        {"resnet56-bn", {"0.68-0.74", "-", "~2"}},
        {"plain20-none", {"0.69-0.89", "32-37%", "0.008-0.27"}},
        {"plain56-none", {"2.30", "90.5%", "0.0017-0.055"}},
        {"plain56-aux-none", {"2.27-2.30", "90-91%", "0.009-0.049"}},
        {"resnet56-none", {"0.82-0.89", "30-38%", "0.043-0.066"}},
    };
    ex::MarkdownTable t({"setting", "PyTorch final train loss", "PyTorch final test error", "PyTorch first-conv grad at init"});
    t.align_right(1).align_right(2).align_right(3);
    for (const auto& r : results) {
        const auto it = pytorch.find(r.setting.name());
        const bool bn = r.setting.norm == nn::Norm::batch;
        if (it == pytorch.end() || !((bn ? cfg.bn : cfg.none) == (bn ? default_bn_recipe() : default_none_recipe())))
            continue;
        const bool trained = !cfg.init_only && r.setting.steps < 0;
        t.add_row({r.setting.name(), trained ? it->second.loss : "-", trained ? it->second.test_error : "-", it->second.grad});
    }
    if (t.rows() == 0) return "";
    return "\nFor comparison, PyTorch 1.13 on the same data with the same recipes (benchmarks/torch_skip_vs_plain.py, "
           "range over seeds 1-4):\n\n" + t.render();
}

std::string summary_markdown(const std::vector<Result>& results, const Config& cfg, double total_seconds) {
    ex::MarkdownTable t({"setting", "steps", "final train loss", "final train error", "final test error",
                         "first-conv grad at init", "last-conv grad at init", "time (s)"});
    for (std::size_t c = 1; c < 8; ++c) t.align_right(c);
    for (const auto& r : results) {
        const std::size_t n = std::min<std::size_t>(50, r.loss.size());
        double tail = n ? 0 : std::nan("");
        for (std::size_t i = r.loss.size() - n; i < r.loss.size(); ++i) tail += r.loss[i] / static_cast<double>(n);
        const bool has_epoch = !r.epochs.empty();
        const bool has_init = !r.grads.empty() && r.grads.front().first == 0;
        t.add_row({r.setting.name(),
                   r.diverged_at >= 0 ? "diverged at " + std::to_string(r.diverged_at)
                   : r.budget == 0    ? "0 (init)"
                                      : std::to_string(r.loss.size()),
                   std::abs(tail) < 1e4 ? ex::fixed(tail) : ex::significant(tail), ex::percent(has_epoch ? r.epochs.back().train_error : std::nan("")),
                   ex::percent(has_epoch ? r.epochs.back().test_error : std::nan("")),
                   ex::significant(has_init ? r.grads.front().second.front().norm : std::nan("")),
                   ex::significant(has_init ? r.grads.front().second.back().norm : std::nan("")), ex::fixed(r.seconds, 1)});
    }
    bool any_bn = false, any_none = false;
    for (const auto& r : results) (r.setting.norm == nn::Norm::batch ? any_bn : any_none) = true;
    char head[1024];
    std::snprintf(head, sizeof head,
                  "# skip_vs_plain summary\n\n%s%s%s%s%ld test images, seed %llu, %.0f s in all.\nFinal train loss: mean "
                  "main-output loss of the last 50 steps; errors: last epoch (train: running over its batches; test: eval "
                  "mode, main output); a setting whose loss became non-finite or exceeded %g stopped there (diverged).\n\n",
                  any_bn ? "With batch-norm: " : "", any_bn ? (cfg.bn.describe() + ".\n").c_str() : "",
                  any_none ? "Without normalisation: " : "", any_none ? (cfg.none.describe() + ".\n").c_str() : "",
                  cfg.test_limit, static_cast<unsigned long long>(cfg.seed), total_seconds, cfg.diverge_above);
    return head + t.render() + reference_markdown(results, cfg);
}

// ---- verification of an output directory -------------------------------------------------------------------------

// Checks every file of a finished run in `dir`; returns the problems found (none: the outputs are complete and
// consistent). Whether the SVGs are well-formed XML is xmllint's job (the ctest verify step runs it on them).
std::vector<std::string> verify_outputs(const std::string& dir) {
    std::vector<std::string> problems;
    auto settings_of = [&](const std::string& file, const std::vector<std::string>& header, std::set<std::string>& names) {
        try {
            const ex::CsvTable t = ex::read_csv(dir + "/" + file);
            if (t.header != header) {
                problems.push_back(file + ": unexpected header");
                return;
            }
            std::map<std::pair<std::string, double>, double> next_layer;  // grad_norms: (setting, step) -> index
            bool disordered = false;
            for (std::size_t r = 0; r < t.rows.size(); ++r) {
                names.insert(t.rows[r][0]);
                ex::parse_setting(t.rows[r][0]);
                for (std::size_t c = 1; c < header.size(); ++c)
                    if (header[c] != "layer_name") (void)t.number(r, header[c]);
                if (header == grad_header && t.number(r, "layer_index") != next_layer[{t.rows[r][0], t.number(r, "step")}]++ &&
                    !disordered) {
                    problems.push_back(file + ": line " + std::to_string(r + 2) + ": layers out of order");
                    disordered = true;
                }
            }
            if (header == grad_header)
                for (const auto& n : names)
                    if (next_layer.count({n, 0.0}) == 0) problems.push_back(file + ": " + n + " has no step 0");
        } catch (const Error& e) {
            problems.push_back(file + ": " + e.what());
        }
    };
    std::set<std::string> trained, evaluated, measured;
    settings_of("train_loss.csv", loss_header, trained);
    settings_of("epochs.csv", epoch_header, evaluated);
    settings_of("grad_norms.csv", grad_header, measured);
    if (measured.empty()) problems.push_back("grad_norms.csv: no setting measured at initialisation");
    const std::map<std::string, std::size_t> expected_series = {{"train_loss.svg", trained.size()},
                                                                {"test_error.svg", evaluated.size()},
                                                                {"grad_norms_init.svg", measured.size()},
                                                                {"grad_norms_train.svg", measured.size()}};
    for (const auto& file : svg_files) {
        std::ifstream in(dir + "/" + file, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        const std::string svg = text.str();
        if (!in.is_open()) {
            problems.push_back(file + ": missing");
            continue;
        }
        if (svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") == std::string::npos) problems.push_back(file + ": no <svg> root");
        std::size_t series = 0;
        for (auto p = svg.find("class=\"series\""); p != std::string::npos; p = svg.find("class=\"series\"", p + 1)) ++series;
        if (series != expected_series.at(file))
            problems.push_back(file + ": " + std::to_string(series) + " series, expected " + std::to_string(expected_series.at(file)));
    }
    std::ifstream in(dir + "/summary.md");
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.is_open())
        problems.push_back("summary.md: missing");
    else
        for (const auto& s : measured)
            if (text.str().find("| " + s + " ") == std::string::npos) problems.push_back("summary.md: no row for " + s);
    return problems;
}

}  // namespace

int main(int argc, char** argv) try {
    Config cfg;
    std::vector<std::string> settings, depths{"20", "56"}, shortcuts{"plain", "residual"}, heads{"none", "aux"}, norms{"bn", "none"};
    std::string verify_dir;
    CLI::App app{"Plain nets vs residual twins vs auxiliary heads, with and without batch-norm (docs/experiment.md)."};
    app.option_defaults()->always_capture_default();
    std::string listed;
    for (const auto& d : default_settings) listed += (listed.empty() ? "" : ",") + d;
    auto* o_settings = app.add_option("--settings", settings, "Settings to run, (plain|resnet)<depth>[i][-aux]-(bn|none)"
                                      "[@steps], e.g. resnet56-aux-none@20. Without it and without axis options: " + listed +
                                      ". With any axis option: the cross product of the axes")->delimiter(',');
    auto* o_depths = app.add_option("--depths", depths, "Depth axis: CIFAR-style 6n+2, or ImageNet-style 18i/34i")->delimiter(',');
    auto* o_short = app.add_option("--shortcuts", shortcuts, "Shortcut axis: plain, residual")->delimiter(',');
    auto* o_heads = app.add_option("--heads", heads, "Heads axis: none, aux")->delimiter(',');
    auto* o_norms = app.add_option("--norms", norms, "Normalisation axis: bn, none")->delimiter(',');
    for (auto* axis : {o_depths, o_short, o_heads, o_norms}) o_settings->excludes(axis);
    app.add_option("--data-dir", cfg.data_dir, "Fashion-MNIST (or MNIST) directory");
    // The recipe of the settings with batch-norm (--limit ... --clip) and of those without (--none-*).
    const auto optimizers = CLI::IsMember({"sgd", "adam"});
    app.add_option("--limit", cfg.bn.limit, "With batch-norm: training images (the first N)")->check(CLI::PositiveNumber);
    app.add_option("--test-limit", cfg.test_limit, "Test images (the first N)")->check(CLI::PositiveNumber);
    auto* o_epochs = app.add_option("--epochs", cfg.bn.epochs, "With batch-norm: epochs per setting")->check(CLI::PositiveNumber);
    app.add_option("--steps", cfg.bn.steps, "With batch-norm: steps per setting (instead of --epochs)")
        ->check(CLI::PositiveNumber)->excludes(o_epochs);
    app.add_option("--batch", cfg.bn.batch, "With batch-norm: batch size")->check(CLI::PositiveNumber);
    app.add_option("--optimizer", cfg.bn.optimizer, "With batch-norm: sgd (momentum) or adam")->check(optimizers);
    app.add_option("--lr", cfg.bn.lr, "With batch-norm: learning rate")->check(CLI::NonNegativeNumber);
    app.add_option("--warmup", cfg.bn.warmup, "With batch-norm: linear learning-rate warm-up, step s < K trains at lr (s + 1) / K "
                   "(0: constant lr)")->check(CLI::NonNegativeNumber);
    app.add_option("--clip", cfg.bn.clip, "With batch-norm: clip the global gradient norm to this (0: off)")->check(CLI::NonNegativeNumber);
    app.add_option("--none-limit", cfg.none.limit, "Without normalisation: training images (the first N)")->check(CLI::PositiveNumber);
    app.add_option("--none-steps", cfg.none.steps, "Without normalisation: steps per setting")->check(CLI::PositiveNumber);
    app.add_option("--none-batch", cfg.none.batch, "Without normalisation: batch size")->check(CLI::PositiveNumber);
    app.add_option("--none-optimizer", cfg.none.optimizer, "Without normalisation: sgd (momentum) or adam")->check(optimizers);
    app.add_option("--none-lr", cfg.none.lr, "Without normalisation: learning rate")->check(CLI::NonNegativeNumber);
    app.add_option("--none-warmup", cfg.none.warmup, "Without normalisation: linear learning-rate warm-up steps (0: off)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--none-clip", cfg.none.clip, "Without normalisation: clip the global gradient norm to this (0: off)")
        ->check(CLI::NonNegativeNumber);
    double momentum = cfg.bn.momentum;
    bool keep_last = false;
    app.add_option("--momentum", momentum, "SGD momentum (both recipes)")->check(CLI::NonNegativeNumber);
    app.add_flag("--keep-last", keep_last,
                 "Keep each epoch's last partial batch (both recipes; default: dropped, so that batch-norm never normalises "
                 "over the few images left over, e.g. 8 of 5,000 at batch 128)");
    app.add_option("--diverge-above", cfg.diverge_above, "A setting whose main loss exceeds this (or becomes non-finite) "
                   "stops there as diverged")->check(CLI::PositiveNumber);
    app.add_option("--threads", cfg.threads, "OpenMP threads (0: OpenMP's default)")->check(CLI::NonNegativeNumber);
    app.add_option("--seed", cfg.seed, "Seed of the weights and of the data order (the same for every setting)");
    app.add_option("--grad-every", cfg.grad_every, "Record gradient norms every K steps")->check(CLI::PositiveNumber);
    app.add_option("--smooth", cfg.smooth, "Moving-average window of the loss plot, in steps")->check(CLI::PositiveNumber);
    app.add_flag("--init-only", cfg.init_only, "Only measure the gradients at initialisation");
    app.add_option("--out", cfg.out, "Output directory (created)");
    app.add_option("--verify-outputs", verify_dir, "Check the outputs of an earlier run in DIR, then exit");
    CLI11_PARSE(app, argc, argv);
    cfg.bn.momentum = cfg.none.momentum = momentum;
    cfg.bn.keep_last = cfg.none.keep_last = keep_last;

    if (!verify_dir.empty()) {
        const auto problems = verify_outputs(verify_dir);
        for (const auto& p : problems) std::fprintf(stderr, "skip_vs_plain: %s\n", p.c_str());
        if (problems.empty()) std::printf("skip_vs_plain: the outputs in %s are complete and well-formed\n", verify_dir.c_str());
        return problems.empty() ? 0 : 1;
    }
    const bool axes = o_depths->count() + o_short->count() + o_heads->count() + o_norms->count() > 0;
    if (axes) {
        cfg.settings = ex::setting_matrix(depths, shortcuts, heads, norms);
    } else {
        for (const auto& s : settings.empty() ? default_settings : settings) cfg.settings.push_back(ex::parse_setting(s));
    }
#ifdef _OPENMP
    if (cfg.threads > 0) omp_set_num_threads(cfg.threads);
#endif
    std::filesystem::create_directories(cfg.out);
    bool any_bn = false, any_none = false;
    for (const auto& s : cfg.settings) (s.norm == nn::Norm::batch ? any_bn : any_none) = true;
    const long limit = std::max(any_bn ? cfg.bn.limit : 0L, any_none ? cfg.none.limit : 0L);
    data::Dataset train = data::load_mnist(cfg.data_dir, data::Split::train).head(std::min<index_t>(limit, 60000));
    data::Dataset test = data::load_mnist(cfg.data_dir, data::Split::test).head(std::min<index_t>(cfg.test_limit, 10000));
    train.normalize(data::fashion_mnist_mean, data::fashion_mnist_std);
    test.normalize(data::fashion_mnist_mean, data::fashion_mnist_std);
    cfg.bn.limit = std::min<long>(cfg.bn.limit, train.size());
    cfg.none.limit = std::min<long>(cfg.none.limit, train.size());
    cfg.test_limit = test.size();
    for (const auto& [used, rc, prefix] : {std::tuple{any_bn, &cfg.bn, "--"}, std::tuple{any_none, &cfg.none, "--none-"}})
        check<ArgumentError>(!used || rc->keep_last || rc->batch <= rc->limit, prefix, "batch ", rc->batch, " is larger than the ",
                             rc->limit, " training images, so there is no full batch to train on: use a smaller ", prefix,
                             "batch or --keep-last");
    std::printf("skip_vs_plain: %zu settings, %ld test images, seed %llu -> %s\n", cfg.settings.size(), cfg.test_limit,
                static_cast<unsigned long long>(cfg.seed), cfg.out.c_str());
    if (any_bn) std::printf("  with batch-norm: %s\n", cfg.bn.describe().c_str());
    if (any_none) std::printf("  without normalisation: %s\n", cfg.none.describe().c_str());
    const auto start = std::chrono::steady_clock::now();
    Records records(cfg.out);
    std::vector<Result> results;
    for (std::size_t i = 0; i < cfg.settings.size(); ++i) {
        std::printf("[%zu/%zu] %s\n", i + 1, cfg.settings.size(), cfg.settings[i].spec().c_str());
        results.push_back(run(cfg.settings[i], cfg, train, test, records));
    }
    write_plots(results, cfg);
    const std::string summary = summary_markdown(results, cfg, seconds_since(start));
    std::ofstream(cfg.out + "/summary.md") << summary;
    std::printf("\n%s", summary.c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "skip_vs_plain: %s\n", e.what());
    return 2;
}
