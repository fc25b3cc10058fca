#pragma once
/// @file
/// TrainingRun: a whole training run from a TrainConfig and two datasets: builds the model (make_model, seeded),
/// the optimizer, the data loader and the schedule, runs epochs of Trainer steps with progress display, evaluates
/// on the test set at the end of each epoch, writes metrics, and saves the full training state (state.hpp) at
/// each epoch end and when interrupted (a signal, see signals.hpp, or config.stop_after steps). resume() restores
/// such a checkpoint; the resumed run then produces exactly the metrics the uninterrupted run would have
/// (with the same thread count: the per-thread partial sums of the ops depend on it).

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "strata/data/data_loader.hpp"
#include "strata/models/registry.hpp"
#include "strata/nn/init.hpp"
#include "strata/train/config.hpp"
#include "strata/train/evaluate.hpp"
#include "strata/train/metrics.hpp"
#include "strata/train/progress.hpp"
#include "strata/train/schedules.hpp"
#include "strata/train/signals.hpp"
#include "strata/train/state.hpp"
#include "strata/train/trainer.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace strata::train {

/// Sets the number of threads of OpenMP (ops parallel over the batch) and of Eigen's own GEMMs; 0 keeps the
/// defaults (OMP_NUM_THREADS, else all cores). Throws ArgumentError on a negative count.
inline void set_threads(int threads) {
    check<ArgumentError>(threads >= 0, "set_threads: thread count must be >= 0, got ", threads);
    if (threads == 0) return;
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    Eigen::setNbThreads(threads);
}

/// How TrainingRun::run ended.
enum class RunOutcome {
    completed,   ///< all epochs done
    interrupted  ///< stopped by a signal or stop_after; the checkpoint (if any) holds the state
};

/// Where TrainingRun::run reports (all optional).
struct RunOutput {
    std::ostream* progress = nullptr;  ///< progress lines (usually std::cerr)
    bool terminal = false;             ///< progress is a terminal: redraw one line
    std::ostream* log = nullptr;       ///< end-of-epoch lines (usually std::cout)
    MetricsWriter* metrics = nullptr;  ///< JSON lines
};

/// A training run; see the file comment. The datasets are borrowed and must outlive the run.
class TrainingRun {
public:
    /// Builds everything for `config` (validated: ArgumentError naming the option) over `train` and `test`.
    /// Throws ArgumentError for an unknown model, ShapeError when the data does not fit it.
    TrainingRun(TrainConfig config, const data::Dataset& train, const data::Dataset& test)
        : config_(std::move(config)), test_(&test) {
        validate(config_);
        check<ArgumentError>(!train.empty(), "the training set is empty");
        strata::manual_seed(config_.seed);  // Dropout generators are seeded from it
        model_ = models::make_model<float>(config_.model, models::ModelSpec()
                                                              .in_channels(train.channels())
                                                              .num_classes(train.num_classes())
                                                              .input_size(train.height())
                                                              .seed(config_.seed));
        optimizer_ = make_optimizer(config_, *model_);
        data::LoaderOptions lo;
        lo.batch_size = config_.batch_size;
        lo.seed = config_.seed;
        lo.drop_last = train.size() % config_.batch_size == 1;  // batch-norm cannot train on a batch of one
        if (config_.augment) {
            lo.augment.crop_padding = config_.crop_pad;
            lo.augment.max_translation = config_.translate;
        }
        loader_ = std::make_unique<data::DataLoader>(train, lo);
        check<ArgumentError>(loader_->num_batches() >= 1, "the training set has ", train.size(),
                             " images, fewer than one batch");
        schedule_ = make_schedule(config_, optimizer_->control(), loader_->num_batches());
        const bool dsn = config_.model == "dsn";
        eval_loss_ = dsn ? nn::LossKind::squared_hinge : nn::LossKind::cross_entropy;
        trainer_ = std::make_unique<Trainer>(*model_, *optimizer_, schedule_,
                                             dsn ? models::dsn_loss_options(static_cast<double>(config_.epochs))
                                                 : nn::DeepSupervisionOptions(),
                                             config_.clip_grad_norm);
    }
    TrainingRun(const TrainingRun&) = delete;  // the trainer points at members
    TrainingRun& operator=(const TrainingRun&) = delete;

    /// Restores the state of a checkpoint saved by a run of the same configuration (the number of epochs may
    /// differ: the schedule is then recomputed for the new length at the same step). Throws as
    /// load_training_checkpoint.
    void resume(const io::Checkpoint& ck) {
        const TrainConfig saved = from_text(training_config_text(ck));
        load_training_checkpoint(ck, *model_, *optimizer_, schedule_, progress_);
        if (saved.epochs != config_.epochs && progress_.epoch < config_.epochs) rescale_schedule(schedule_);
    }

    /// Runs the remaining epochs (see the file comment); returns how it ended. Throws on I/O errors (a failed
    /// checkpoint save leaves the previous checkpoint intact) and on errors from the model.
    RunOutcome run(const RunOutput& out = {}) {
        using clock = std::chrono::steady_clock;
        auto since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
        ProgressReporter reporter(out.progress, out.terminal);
        const index_t per_epoch = loader_->num_batches();
        loader_->set_state(progress_.loader);
        data::Batch batch;
        while (progress_.epoch < config_.epochs) {
            const auto epoch_start = clock::now();
            double train_seconds = 0;
            index_t session_samples = 0, session_batches = 0;
            reporter.begin_epoch(loader_->state().batch);
            for (;;) {
                if (stop_requested() || (config_.stop_after > 0 && progress_.step >= config_.stop_after)) {
                    reporter.clear();
                    save_checkpoint();
                    return RunOutcome::interrupted;
                }
                const auto t0 = clock::now();
                if (!loader_->next(batch)) break;
                const double t = static_cast<double>(progress_.step) / static_cast<double>(per_epoch);
                const StepResult r = trainer_->step(batch, t);
                train_seconds += since(t0);
                ++progress_.step;
                progress_.loss_sum += r.loss * static_cast<double>(r.samples);
                progress_.correct += r.correct;
                progress_.samples += r.samples;
                progress_.loader = loader_->state();
                session_samples += r.samples;
                ++session_batches;
                ProgressState ps;
                ps.epoch = progress_.epoch + 1;
                ps.epochs = config_.epochs;
                ps.done = progress_.loader.batch;
                ps.total = per_epoch;
                ps.loss = progress_.loss_sum / static_cast<double>(progress_.samples);
                ps.images_per_s = static_cast<double>(session_samples) / train_seconds;
                ps.eta_seconds = static_cast<double>(per_epoch - ps.done) * train_seconds /
                                 static_cast<double>(session_batches);
                reporter.update(ps);
            }
            reporter.clear();
            const Evaluation test = evaluate(*model_, *test_, config_.eval_batch_size, trainer_->tape(), eval_loss_);
            schedule_.after_epoch(test.loss);
            EpochMetrics m;
            m.epoch = progress_.epoch + 1;
            m.step = progress_.step;
            m.loss = progress_.samples > 0 ? progress_.loss_sum / static_cast<double>(progress_.samples) : 0.0;
            m.train_acc = progress_.samples > 0
                              ? static_cast<double>(progress_.correct) / static_cast<double>(progress_.samples)
                              : 0.0;
            m.test_loss = test.loss;
            m.test_acc = test.accuracy;
            m.lr = optimizer_->control().lr(0);
            m.images_per_s = train_seconds > 0 ? static_cast<double>(session_samples) / train_seconds : 0.0;
            m.seconds = since(epoch_start);
            progress_.epoch += 1;
            progress_.loader = loader_->state();
            progress_.loss_sum = 0;
            progress_.correct = progress_.samples = 0;
            history_.push_back(m);
            if (out.metrics) out.metrics->write(m);
            save_checkpoint();
            if (out.log) *out.log << format_epoch_summary(m, config_.epochs) << '\n' << std::flush;
        }
        return RunOutcome::completed;
    }

    /// Saves the full training state to config.checkpoint atomically (nothing without a checkpoint path).
    /// Throws IoError naming the path on failure; the previous file stays intact.
    void save_checkpoint() {
        if (config_.checkpoint.empty()) return;
        make_training_checkpoint(*model_, *optimizer_, schedule_, progress_, to_text(config_)).save(config_.checkpoint);
    }

    /// The effective configuration.
    const TrainConfig& config() const { return config_; }
    /// Where the run is.
    const TrainProgress& progress() const { return progress_; }
    /// The metrics of the epochs this object ran.
    const std::vector<EpochMetrics>& history() const { return history_; }
    /// Optimizer steps per epoch.
    index_t steps_per_epoch() const { return loader_->num_batches(); }
    /// The model.
    nn::Module<float>& model() { return *model_; }
    /// The optimizer.
    TrainOptimizer& optimizer() { return *optimizer_; }

private:
    TrainConfig config_;
    const data::Dataset* test_;
    std::unique_ptr<nn::Module<float>> model_;
    std::unique_ptr<TrainOptimizer> optimizer_;
    std::unique_ptr<data::DataLoader> loader_;
    optim::ScheduleDriver schedule_;
    std::unique_ptr<Trainer> trainer_;
    nn::LossKind eval_loss_ = nn::LossKind::cross_entropy;
    TrainProgress progress_;
    std::vector<EpochMetrics> history_;
};

}  // namespace strata::train
