// train_mnist: trains a strata model on Fashion-MNIST (or any MNIST-format folder) from the command line, with
// progress display, per-epoch test accuracy, JSON-lines metrics, atomic checkpoints and exact resumption.
//
//   train_mnist                                   # ResNet-18 with its recipe: SGD 0.05 + cosine, batch 128, 1 epoch
//   train_mnist --model dsn                       # each model family has its recipe (recipes.hpp; --help lists them)
//   train_mnist --model resnet20 --epochs 10 --augment on --checkpoint run.ck --metrics run.jsonl
//   train_mnist --checkpoint run.ck --resume      # continue an interrupted run exactly (Ctrl-C saves first)
//   mpirun -np 2 train_mnist --distributed        # data-parallel over 2 processes (built with MPI only)
//
// Exit status: 0 done, 1 error (a message names the problem), CLI11's codes for bad arguments, 3 training
// diverged (a non-finite loss, or --detect-anomaly found a non-finite value; the checkpoint keeps the last good
// state), 130 interrupted.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <strata/io/checkpoint.hpp>
#include <strata/models/registry.hpp>
#include <strata/nn/cost.hpp>
#include <strata/nn/summary.hpp>
#include "cli_options.hpp"
#include "data.hpp"
#include "loop.hpp"
#include "parallel.hpp"
#include "recipes.hpp"

#if STRATA_HAS_MPI  // defined by the strata::distributed target, which CMake creates only when it finds MPI
#include <strata/distributed/context.hpp>
#include "mpi_parallel.hpp"
#endif

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace {

using namespace strata;

bool stderr_is_terminal() {
#if defined(__unix__) || defined(__APPLE__)
    return ::isatty(STDERR_FILENO) == 1;
#else
    return false;
#endif
}

/// Fails early (before any training) when the checkpoint could never be saved: its folder is missing, or the
/// path is a folder. Creates nothing.
void check_checkpoint_path(const std::string& path) {
    if (path.empty()) return;
    namespace fs = std::filesystem;
    std::error_code ec;
    check<ArgumentError>(!fs::is_directory(path, ec), "--checkpoint ", path, " is a directory, not a file path");
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
    check<IoError>(fs::is_directory(dir, ec), "--checkpoint ", path, ": the directory ", dir.string(),
                   " does not exist");
}

std::string model_help() {
    std::string names;
    for (const auto& n : models::model_names()) names += (names.empty() ? "" : ", ") + n;
    return "Model: " + names + " (ResNet/plain nets also with an -aux suffix: auxiliary heads)";
}

int threads_in_use() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/// Exit status of a run that stopped on a non-finite value.
constexpr int exit_diverged = 3;

/// What main() parsed besides the TrainConfig.
struct Command {
    train::TrainConfig cfg;
    bool resume = false;
    bool summary = false;            ///< --summary: describe the model and exit
    std::vector<std::string> given;  ///< the options given on the command line (for --resume and the recipe)
};

/// Prints the divergence report (rank 0; another rank only its own anomaly message) and returns exit_diverged.
int report_divergence(const train::TrainingRun& run, const train::TrainConfig& cfg) {
    const train::Divergence& d = run.divergence();
    const train::DataParallel* par = run.parallel();
    if (par && !par->is_root()) {
        if (d.anomaly && d.what.rfind("anomaly:", 0) == 0)
            std::fprintf(stderr, "train_mnist: rank %d: %s\n", par->rank(), d.what.c_str());
        return exit_diverged;
    }
    std::string saved;
    std::error_code ec;
    if (cfg.checkpoint.empty())
        saved = "no --checkpoint was given";
    else if (!std::filesystem::exists(cfg.checkpoint, ec))
        saved = "nothing was saved to " + cfg.checkpoint;
    else if (run.last_saved_step() >= 0)
        saved = cfg.checkpoint + " was not overwritten: it keeps the last good state (step " +
                std::to_string(run.last_saved_step()) + ")";
    else
        saved = cfg.checkpoint + " was left as it was before this run";
    std::fprintf(stderr, "train_mnist: %s. Stopped; %s\n", train::describe(d, cfg).c_str(), saved.c_str());
    return exit_diverged;
}

/// Everything after parsing: loads the data, builds (or resumes) the run, trains, reports. `parallel` is null
/// for a single-process run; `threads` overrides cfg.threads when positive (a rank's share of the cores).
/// Returns the exit status; throws strata::Error on bad options, data or checkpoints.
int train_main(Command cmd, train::DataParallel* parallel, int threads) {
    train::TrainConfig& cfg = cmd.cfg;
    const bool root = parallel == nullptr || parallel->is_root();
    std::optional<io::Checkpoint> saved;
    if (cmd.resume) {
        check<ArgumentError>(!cfg.checkpoint.empty(), "--resume needs --checkpoint PATH (the run to continue)");
        std::error_code ec;
        check<IoError>(std::filesystem::exists(cfg.checkpoint, ec), "--resume: there is no checkpoint at ",
                       cfg.checkpoint, " (start without --resume to begin a new run)");
        saved = io::Checkpoint::load(cfg.checkpoint);  // data-parallel: every rank reads it
        cfg = train::merge_for_resume(train::from_text(train::training_config_text(*saved)), cfg, cmd.given);
    }
    // A new run takes its model's recipe for the options not given; a resumed one keeps the checkpoint's values.
    const train::Recipe* recipe = cmd.resume ? train::recipe_for(cfg.model) : train::apply_recipe(cfg, cmd.given);
    train::validate(cfg);
    if (root) check_checkpoint_path(cfg.checkpoint);  // only rank 0 writes it
    train::set_threads(cfg.threads);
    if (threads > 0 && cfg.threads == 0) train::set_threads(threads);

    const train::TrainData data = train::load_train_data(cfg);
    train::TrainingRun run(cfg, data.train, data.test, parallel);
    const int ranks = parallel ? parallel->size() : 1;
    if (cmd.summary) {
        if (!root) return 0;
        const Shape input{1, data.train.channels(), data.train.height(), data.train.width()};
        std::printf("%s", nn::summary(run.model(), input).to_string().c_str());
        std::printf("train_mnist: %s: %lld parameters, %lld multiply-adds per %lldx%lldx%lld image; %s\n",
                    cfg.model.c_str(), static_cast<long long>(run.model().parameter_count()),
                    static_cast<long long>(nn::multiply_adds(run.model(), input)),
                    static_cast<long long>(input[1]), static_cast<long long>(input[2]),
                    static_cast<long long>(input[3]),
                    recipe ? train::describe_recipe(*recipe, cfg, cmd.given).c_str() : "no recipe");
        return 0;
    }
    if (saved) {
        run.resume(*saved);
        saved.reset();  // the model and optimizer now hold the state; free the copy
        if (run.progress().epoch >= cfg.epochs) {
            if (!cfg.quiet && root)
                std::printf("train_mnist: %s has already completed %lld of %lld epochs; nothing to do (raise "
                            "--epochs to train more)\n",
                            cfg.checkpoint.c_str(), static_cast<long long>(run.progress().epoch),
                            static_cast<long long>(cfg.epochs));
            return 0;
        }
    }
    const bool quiet = cfg.quiet || !root;
    std::unique_ptr<train::MetricsWriter> metrics;
    if (!cfg.metrics.empty() && root)
        metrics = cmd.resume ? std::make_unique<train::MetricsWriter>(cfg.metrics, run.progress().epoch)
                             : std::make_unique<train::MetricsWriter>(cfg.metrics);
    if (!quiet) {
        if (recipe != nullptr)
            std::printf("train_mnist: %s%s\n", train::describe_recipe(*recipe, cfg, cmd.given).c_str(),
                        cmd.resume ? " (as the checkpoint saved it)" : "");
        const std::string threads_text =
            std::to_string(threads_in_use()) + (threads_in_use() == 1 ? " thread" : " threads");
        const std::string layout = ranks == 1 ? threads_text
                                              : std::to_string(ranks) + " ranks x " + threads_text + " (batch " +
                                                    std::to_string(cfg.batch_size / ranks) + " per rank)";
        std::printf("train_mnist: %s (%lld parameters) on %s: %lld training / %lld test images, %lld steps per "
                    "epoch of batch %lld, %s lr %g, %s schedule, %lld epoch%s, %s%s%s\n",
                    cfg.model.c_str(), static_cast<long long>(run.model().parameter_count()), cfg.data_dir.c_str(),
                    static_cast<long long>(data.train.size()), static_cast<long long>(data.test.size()),
                    static_cast<long long>(run.steps_per_epoch()), static_cast<long long>(cfg.batch_size),
                    run.optimizer().control().name().c_str(), cfg.lr, cfg.schedule.c_str(),
                    static_cast<long long>(cfg.epochs), cfg.epochs == 1 ? "" : "s", layout.c_str(),
                    cfg.detect_anomaly ? ", anomaly mode" : "",
                    cmd.resume ? (", resumed at step " + std::to_string(run.progress().step)).c_str() : "");
        std::fflush(stdout);
    }

    train::RunOutput out;
    out.progress = quiet ? nullptr : &std::cerr;
    out.terminal = stderr_is_terminal();
    out.log = quiet ? nullptr : &std::cout;
    out.metrics = metrics.get();
    const train::RunOutcome outcome = run.run(out);
    const train::TrainProgress& p = run.progress();
    if (outcome == train::RunOutcome::diverged) return report_divergence(run, cfg);
    if (outcome == train::RunOutcome::interrupted) {
        if (!root) return 130;
        const std::string why = train::stop_requested()
                                    ? std::string("interrupted by ") + train::signal_name(train::stop_signal())
                                    : "stopped after --stop-after " + std::to_string(cfg.stop_after) + " steps";
        const std::string where = " at step " + std::to_string(p.step) + " (epoch " + std::to_string(p.epoch + 1) +
                                  ", batch " + std::to_string(p.loader.batch) + " of " +
                                  std::to_string(run.steps_per_epoch()) + ")";
        if (cfg.checkpoint.empty())
            std::fprintf(stderr, "train_mnist: %s%s; no --checkpoint was given, so the progress is lost\n",
                         why.c_str(), where.c_str());
        else
            std::fprintf(stderr, "train_mnist: %s%s; checkpoint saved to %s (continue with --checkpoint %s "
                         "--resume)\n", why.c_str(), where.c_str(), cfg.checkpoint.c_str(), cfg.checkpoint.c_str());
        return 130;
    }
    if (!quiet && !run.history().empty()) {
        const train::EpochMetrics& last = run.history().back();
        std::printf("train_mnist: done after %lld epoch%s (%lld steps): test accuracy %.2f%%\n",
                    static_cast<long long>(last.epoch), last.epoch == 1 ? "" : "s",
                    static_cast<long long>(last.step), 100 * last.test_acc);
        if (parallel && parallel->averaging_calls() > 0) {
            const double seconds = parallel->averaging_seconds();
            std::printf("train_mnist: gradient averaging over %d ranks: %.1f ms per step (%.1f%% of the training "
                        "time)\n",
                        ranks, 1e3 * seconds / static_cast<double>(parallel->averaging_calls()),
                        run.training_seconds() > 0 ? 100 * seconds / run.training_seconds() : 0.0);
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Command cmd;
    train::TrainConfig& cfg = cmd.cfg;
    bool distributed = false;

    CLI::App app{"Trains a strata classifier on Fashion-MNIST or any MNIST-format dataset; evaluates on the test "
                 "split after every epoch. Ctrl-C (or SIGTERM) finishes the current step, saves the checkpoint and "
                 "exits with status 130; --resume continues exactly where it stopped. A diverging run (non-finite "
                 "loss) stops with status 3 without saving over the last good checkpoint.",
                 "train_mnist"};
    app.get_formatter()->column_width(34);
    app.footer(train::recipes_help());
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a repeated option: the last wins
    // The TrainConfig fields (config.hpp's table), with the program's own options among them.
    train::add_config_options(app, cfg, [&](const std::string& key) {
        if (key == "checkpoint")
            app.add_flag("--resume", cmd.resume,
                         "Continue the run saved in --checkpoint (its configuration is kept)");
        if (key == "stop-after")
            app.add_flag("--summary", cmd.summary,
                         "Print the model's layers, parameters and multiply-adds per image (for the data's image "
                         "size) and exit without training");
    });
    app.get_option("--model")->description(model_help());
    app.add_flag("--distributed", distributed,
                 "Data-parallel over the processes of an MPI job (mpirun -np N train_mnist ...; on by itself "
                 "when started by mpirun). Needs a build with MPI");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    for (const CLI::Option* opt : app.get_options())
        if (opt->count() > 0) cmd.given.push_back(opt->get_single_name());
    const bool launched = train::mpi_launch_detected();

    // From here on, Ctrl-C/SIGTERM only set a flag: the run stops at its first check, after saving its state.
    train::StopSignals signals;
#if STRATA_HAS_MPI
    if (distributed || launched) {
        // A failure on one rank must end the whole job (the others may wait in a collective): run_or_abort
        // prints "strata: rank R of N failed: <message>" and calls MPI_Abort.
        namespace dist = strata::distributed;
        dist::MpiContext mpi(&argc, &argv, dist::MpiInit::always);
        train::MpiDataParallel parallel(mpi.world());
        return dist::run_or_abort([&] {
            const char* omp = std::getenv("OMP_NUM_THREADS");
            const int threads = omp != nullptr && *omp != '\0'
                                    ? 0
                                    : train::threads_per_rank(train::ranks_on_this_machine(mpi.world()));
            return train_main(cmd, &parallel, threads);
        });
    }
#endif
    try {
        check<ArgumentError>(!distributed, "--distributed: this train_mnist was built without MPI (CMake did not "
                             "find it when it was configured); install Open MPI (scripts/install-deps.sh mpi), "
                             "reconfigure and rebuild, or run without --distributed");
        check<ArgumentError>(!launched, "train_mnist was started by an MPI launcher (mpirun) but built without MPI: "
                             "every process would train alone and write the same files; rebuild with MPI "
                             "(scripts/install-deps.sh mpi) or run it without mpirun");
        return train_main(std::move(cmd), nullptr, 0);
    } catch (const strata::Error& e) {
        std::fprintf(stderr, "train_mnist: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "train_mnist: unexpected error: %s\n", e.what());
        return 1;
    }
}
