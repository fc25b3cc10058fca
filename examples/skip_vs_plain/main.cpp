// skip_vs_plain: plain nets vs their residual twins vs auxiliary heads, with and without batch-norm, trained on
// the same data, seeds and budget. Records per-step training loss, per-epoch train/test error and per-layer
// gradient norms (at initialisation and every K steps) as CSV, draws SVG plots, and writes a Markdown summary.
// See docs/experiment.md. Usage: skip_vs_plain [--help]; skip_vs_plain --verify-outputs DIR.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

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
#include "xml_check.hpp"
#include "strata/nn/deep_supervision.hpp"
#include "strata/optim/sgd.hpp"
#include "strata/train/evaluate.hpp"

using namespace strata;
namespace ex = strata::experiment;

namespace {

// The default matrix (docs/experiment.md): the batch-norm settings train the full budget for the degradation
// picture; the unnormalised ones give the vanishing-gradient picture at initialisation and train 20 steps.
const std::vector<std::string> default_settings = {"plain20-bn", "plain56-bn", "resnet56-bn", "plain56-none@20",
                                                   "plain56-aux-none@20", "resnet56-none@20"};
const std::vector<std::string> loss_header = {"setting", "step", "loss", "total_loss", "batch_error"};
const std::vector<std::string> epoch_header = {"setting", "epoch", "step", "train_loss", "train_error", "test_loss", "test_error"};
const std::vector<std::string> grad_header = {"setting", "step", "layer_index", "layer_name", "norm"};
const std::vector<std::string> svg_files = {"train_loss.svg", "test_error.svg", "grad_norms_init.svg", "grad_norms_train.svg"};

struct Config {
    std::string data_dir = "/usr/share/datasets/fashion-mnist", out = "skip_vs_plain_out";
    long limit = 5000, test_limit = 1000, epochs = 3, steps = 0, batch = 128, grad_every = 10, smooth = 10;
    long warmup = 20;        // linear learning-rate warm-up steps (0: constant lr)
    bool keep_last = false;  // keep each epoch's last partial batch (default: dropped)
    double lr = 0.1, momentum = 0.9;
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

// Trains (or, with a budget of 0, only measures at initialisation) one setting.
Result run(const ex::Setting& setting, const Config& cfg, const data::Dataset& train, const data::Dataset& test, Records& rec) {
    const auto start = std::chrono::steady_clock::now();
    Result r;
    r.setting = setting;
    const std::string name = setting.name();
    auto net = ex::build_network<float>(setting, train.channels(), train.num_classes(), train.height(), cfg.seed);
    optim::SGD<float> optimizer(net->parameters(), optim::SGDOptions(cfg.lr).momentum(cfg.momentum));
    nn::DeepSupervisionLoss<float> criterion;  // cross-entropy; each head weighted by the constant 0.3
    data::LoaderOptions lo;
    lo.batch_size = cfg.batch;
    lo.seed = cfg.seed;
    lo.drop_last = !cfg.keep_last;
    data::DataLoader loader(train, lo);
    r.budget = cfg.init_only ? 0 : setting.steps >= 0 ? setting.steps : cfg.steps > 0 ? cfg.steps : cfg.epochs * loader.num_batches();
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
        Var<float> total = criterion(out, batch.labels);
        const double loss = criterion.parts().main;
        if (!std::isfinite(total.item())) {
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
        // Linear warm-up: step s < warmup trains at lr (s + 1) / warmup, then at lr.
        if (cfg.warmup > 0)
            optimizer.set_lr(0, cfg.lr * static_cast<double>(std::min(step + 1, cfg.warmup)) / static_cast<double>(cfg.warmup));
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
                                  for (std::size_t i = 0; i < s.y.size(); ++i) s.x.push_back(static_cast<double>(i));
                                  return !s.y.empty();
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

// PyTorch 1.13 on this machine, same data and settings (docs/experiment.md): the loss needs the default recipe
// (benchmarks/torch_skip_vs_plain.py, its range over seeds 1-4), the gradient at initialisation only the batch of 128.
std::string reference_markdown(const std::vector<Result>& results, const Config& cfg) {
    const std::map<std::string, std::pair<std::string, std::string>> pytorch = {
        {"plain20-bn", {"0.61-0.73", "-"}},         {"plain56-bn", {"1.46-2.13", "~350"}},
        {"resnet56-bn", {"0.68-0.74", "~2"}},       {"plain56-none", {"-", "0.0008-0.001"}},
        {"plain56-aux-none", {"-", "0.003-0.005"}}, {"resnet56-none", {"-", "~0.03"}}};
    const bool same_budget = !cfg.init_only && cfg.limit == 5000 && cfg.batch == 128 && cfg.steps == 0 && cfg.epochs == 3 &&
                             cfg.lr == 0.1 && cfg.momentum == 0.9 && cfg.warmup == 20 && !cfg.keep_last;
    ex::MarkdownTable t({"setting", "PyTorch final train loss", "PyTorch first-conv grad at init"});
    t.align_right(1).align_right(2);
    for (const auto& r : results) {
        const auto it = pytorch.find(r.setting.name());
        if (it == pytorch.end() || cfg.batch != 128) continue;
        const bool trained = same_budget && r.setting.steps < 0;
        t.add_row({r.setting.name(), trained ? it->second.first : "-", it->second.second});
    }
    if (t.rows() == 0) return "";
    return "\nFor comparison, PyTorch 1.13 on the same data (benchmarks/torch_skip_vs_plain.py; loss: only with the "
           "default recipe, range over seeds 1-4):\n\n" + t.render();
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
    const std::string warmup = cfg.warmup > 0 ? "linear warm-up over " + std::to_string(cfg.warmup) + " steps" : "no warm-up";
    char head[640];
    std::snprintf(head, sizeof head,
                  "# skip_vs_plain summary\n\n%ld training images, %ld test images, batch %ld (last partial batch %s), "
                  "SGD lr %g momentum %g, %s, seed %llu, %.0f s in all.\nFinal train loss: mean "
                  "main-output loss of the last 50 steps; errors: last epoch (train: running over its batches; test: eval "
                  "mode).\n\n",
                  cfg.limit, cfg.test_limit, cfg.batch, cfg.keep_last ? "kept" : "dropped", cfg.lr, cfg.momentum, warmup.c_str(),
                  static_cast<unsigned long long>(cfg.seed), total_seconds);
    return head + t.render() + reference_markdown(results, cfg);
}

// ---- verification of an output directory -------------------------------------------------------------------------

// Checks every file of a finished run in `dir`; returns the problems found (none: the outputs are well-formed).
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
        if (const std::string e = ex::xml_error(svg); !e.empty()) problems.push_back(file + ": not well-formed XML: " + e);
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
    app.add_option("--limit", cfg.limit, "Training images (the first N)")->check(CLI::PositiveNumber);
    app.add_option("--test-limit", cfg.test_limit, "Test images (the first N)")->check(CLI::PositiveNumber);
    auto* o_epochs = app.add_option("--epochs", cfg.epochs, "Epochs per setting")->check(CLI::PositiveNumber);
    app.add_option("--steps", cfg.steps, "Steps per setting (instead of --epochs; 0: use --epochs)")->check(CLI::PositiveNumber)->excludes(o_epochs);
    app.add_option("--batch", cfg.batch, "Batch size")->check(CLI::PositiveNumber);
    app.add_option("--lr", cfg.lr, "SGD learning rate")->check(CLI::NonNegativeNumber);
    app.add_option("--momentum", cfg.momentum, "SGD momentum")->check(CLI::NonNegativeNumber);
    app.add_option("--warmup", cfg.warmup, "Linear learning-rate warm-up: step s < K trains at lr (s + 1) / K (0: constant lr)")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--keep-last", cfg.keep_last,
                 "Keep each epoch's last partial batch (default: dropped, so that batch-norm never normalises over the "
                 "few images left over, e.g. 8 of 5,000 at batch 128)");
    app.add_option("--threads", cfg.threads, "OpenMP threads (0: OpenMP's default)")->check(CLI::NonNegativeNumber);
    app.add_option("--seed", cfg.seed, "Seed of the weights and of the data order (the same for every setting)");
    app.add_option("--grad-every", cfg.grad_every, "Record gradient norms every K steps")->check(CLI::PositiveNumber);
    app.add_option("--smooth", cfg.smooth, "Moving-average window of the loss plot, in steps")->check(CLI::PositiveNumber);
    app.add_flag("--init-only", cfg.init_only, "Only measure the gradients at initialisation");
    app.add_option("--out", cfg.out, "Output directory (created)");
    app.add_option("--verify-outputs", verify_dir, "Check the outputs of an earlier run in DIR, then exit");
    CLI11_PARSE(app, argc, argv);

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
    data::Dataset train = data::load_mnist(cfg.data_dir, data::Split::train).head(std::min<index_t>(cfg.limit, 60000));
    data::Dataset test = data::load_mnist(cfg.data_dir, data::Split::test).head(std::min<index_t>(cfg.test_limit, 10000));
    train.normalize({data::fashion_mnist_mean}, {data::fashion_mnist_std});
    test.normalize({data::fashion_mnist_mean}, {data::fashion_mnist_std});
    cfg.limit = train.size();
    cfg.test_limit = test.size();
    check<ArgumentError>(cfg.keep_last || cfg.batch <= cfg.limit, "--batch ", cfg.batch, " is larger than the ", cfg.limit,
                         " training images, so there is no full batch to train on: use a smaller --batch or --keep-last");
    std::printf("skip_vs_plain: %zu settings, %ld training / %ld test images, batch %ld, lr %g (warm-up %ld steps), momentum %g, "
                "seed %llu -> %s\n",
                cfg.settings.size(), cfg.limit, cfg.test_limit, cfg.batch, cfg.lr, cfg.warmup, cfg.momentum,
                static_cast<unsigned long long>(cfg.seed), cfg.out.c_str());
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
