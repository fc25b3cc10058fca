#pragma once
/// @file
/// TrainingRun: a whole training run from a TrainConfig and two datasets: builds the model (make_model, seeded),
/// the optimizer, the data loader and the schedule, runs epochs of Trainer steps with progress display, evaluates
/// on the test set at the end of each epoch, writes metrics, and saves the full training state (state.hpp) at
/// each epoch end and when interrupted (a signal, see signals.hpp, or config.stop_after steps). resume() restores
/// such a checkpoint; the resumed run then produces exactly the metrics the uninterrupted run would have
/// (with the same thread count: the per-thread partial sums of the ops depend on it).
///
/// A run stops early, saving nothing, when training diverges (divergence.hpp states the rule); and it trains
/// data-parallel over several processes when given a DataParallel (parallel.hpp): every rank then runs this same
/// loop on its slice of each global batch, the gradients are averaged before clipping and the optimizer step,
/// the per-step loss and accuracy and the test evaluation (sharded across the ranks) are summed over the ranks,
/// and only rank 0 writes the checkpoint (the others wait for it at a barrier).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "strata/data/data_loader.hpp"
#include "strata/models/registry.hpp"
#include "strata/nn/init.hpp"
#include "strata/train/evaluate.hpp"
#include "strata/train/state.hpp"
#include "strata/train/trainer.hpp"

#include "builders.hpp"
#include "config.hpp"
#include "divergence.hpp"
#include "metrics.hpp"
#include "parallel.hpp"
#include "progress.hpp"
#include "signals.hpp"

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
    completed,    ///< all epochs done
    interrupted,  ///< stopped by a signal or stop_after; the checkpoint (if any) holds the state
    diverged      ///< stopped on a non-finite value (see divergence()); nothing was saved since the last good state
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
    /// With `parallel` (borrowed; it must outlive the run) the run is one rank of a data-parallel job: every
    /// rank must construct it with the same configuration and data (rank 0's initial model is broadcast).
    /// Throws ArgumentError for an unknown model or a --batch-size not divisible by the number of ranks,
    /// ShapeError when the data does not fit the model.
    TrainingRun(TrainConfig config, const data::Dataset& train, const data::Dataset& test,
                DataParallel* parallel = nullptr)
        : config_(std::move(config)), test_(&test), parallel_(parallel) {
        validate(config_);
        check<ArgumentError>(!train.empty(), "the training set is empty");
        const int ranks = parallel_ ? parallel_->size() : 1;
        check<ArgumentError>(config_.batch_size % ranks == 0, "--batch-size ", config_.batch_size,
                             " is not divisible by the ", ranks, " ranks: the global batch is split evenly across "
                             "the ranks (use a multiple of ", ranks, ")");
        strata::manual_seed(config_.seed);  // Dropout generators are seeded from it
        model_ = models::make_model<float>(config_.model, models::ModelSpec()
                                                              .in_channels(train.channels())
                                                              .num_classes(train.num_classes())
                                                              .input_size(train.height())
                                                              .norm(config_.norm == "none" ? nn::Norm::none
                                                                                           : nn::Norm::batch)
                                                              .zero_init_residual(config_.zero_init_residual)
                                                              .seed(config_.seed));
        if (parallel_) parallel_->attach(*model_, model_->parameters());
        optimizer_ = make_optimizer(config_, *model_);
        data::LoaderOptions lo;
        lo.batch_size = config_.batch_size;
        lo.seed = config_.seed;
        lo.drop_last = drop_small_last_batch(train.size(), config_.batch_size, ranks);  // BN needs 2 per rank
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
        trainer_ = std::make_unique<Trainer<float>>(*model_, *optimizer_, schedule_,
                                             dsn ? models::dsn_loss_options(static_cast<double>(config_.epochs))
                                                 : nn::DeepSupervisionOptions(),
                                             config_.clip_grad_norm);
        trainer_->tape().set_detect_anomaly(config_.detect_anomaly);
        if (parallel_) {
            const auto rows = local_rows(test.size(), ranks, parallel_->rank());
            std::vector<index_t> mine;
            for (index_t i = rows.first; i < rows.second; ++i) mine.push_back(i);
            test_shard_ = test.select(mine);
        }
    }
    TrainingRun(const TrainingRun&) = delete;  // the trainer points at members
    TrainingRun& operator=(const TrainingRun&) = delete;

    /// Restores the state of a checkpoint saved by a run of the same configuration (the number of epochs may
    /// differ: the schedule is then recomputed for the new length at the same step). Data-parallel: every rank
    /// loads the same checkpoint. Throws as load_training_checkpoint.
    void resume(const io::Checkpoint& ck) {
        const TrainConfig saved = from_text(training_config_text(ck));
        load_training_checkpoint(ck, *model_, *optimizer_, schedule_, progress_);
        if (saved.epochs != config_.epochs && progress_.epoch < config_.epochs) rescale_schedule(schedule_);
        saved_step_ = progress_.step;
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
                if (stop_now()) {
                    reporter.clear();
                    if (!state_is_sound(false)) return RunOutcome::diverged;
                    save_checkpoint();
                    return RunOutcome::interrupted;
                }
                const auto t0 = clock::now();
                if (!loader_->next(batch)) break;
                const double t = static_cast<double>(progress_.step) / static_cast<double>(per_epoch);
                StepResult r;
                if (!train_step(batch, t, r)) {
                    reporter.clear();
                    return RunOutcome::diverged;
                }
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
            training_seconds_ += train_seconds;
            const Evaluation test = evaluate_test();
            if (!state_is_sound(true, test.loss)) return RunOutcome::diverged;
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

    /// Saves the full training state to config.checkpoint atomically (nothing without a checkpoint path). Only
    /// rank 0 of a data-parallel run writes; every rank must call it (it ends with a barrier, so that no rank
    /// reads a half-written file). Throws NumericError naming the tensor, without touching the file, when the
    /// model holds a NaN or infinity; IoError naming the path on failure (the previous file stays intact).
    void save_checkpoint() {
        if (!config_.checkpoint.empty() && (!parallel_ || parallel_->is_root())) {
            const std::string bad = first_non_finite_state(*model_);
            check<NumericError>(bad.empty(), "refusing to save the checkpoint ", config_.checkpoint, ": ", bad,
                                " is not finite");
            make_training_checkpoint(*model_, *optimizer_, schedule_, progress_, to_text(config_))
                .save(config_.checkpoint);
        }
        if (!config_.checkpoint.empty()) saved_step_ = progress_.step;
        if (parallel_) parallel_->barrier();
    }

    /// The effective configuration.
    const TrainConfig& config() const { return config_; }
    /// Where the run is.
    const TrainProgress& progress() const { return progress_; }
    /// The metrics of the epochs this object ran.
    const std::vector<EpochMetrics>& history() const { return history_; }
    /// Where and why run() returned RunOutcome::diverged (default values before that).
    const Divergence& divergence() const { return divergence_; }
    /// The step count of the state this object last saved to (or resumed from) config.checkpoint; -1 when none.
    index_t last_saved_step() const { return saved_step_; }
    /// Optimizer steps per epoch.
    index_t steps_per_epoch() const { return loader_->num_batches(); }
    /// Seconds this object spent in training steps (loading, forward, backward, averaging, update), all epochs.
    double training_seconds() const { return training_seconds_; }
    /// The model.
    nn::Module<float>& model() { return *model_; }
    /// The optimizer.
    TrainOptimizer& optimizer() { return *optimizer_; }
    /// The data-parallel context (null for a single-process run).
    DataParallel* parallel() const { return parallel_; }

private:
    /// Whether to stop before the next step: a stop request (signal) on any rank, or config.stop_after steps.
    bool stop_now() {
        double stop = stop_requested() ? 1.0 : 0.0;
        if (parallel_) parallel_->max(&stop, 1);  // all ranks must stop at the same step
        return stop > 0 || (config_.stop_after > 0 && progress_.step >= config_.stop_after);
    }

    /// One step on (this rank's slice of) the global batch `global`; `r` receives the global batch's loss,
    /// correct count and size. Returns false, applying nothing, when the step diverged (sets divergence_).
    bool train_step(const data::Batch& global, double t, StepResult& r) {
        const data::Batch* local = &global;
        if (parallel_) {
            const auto rows = local_rows(global.size(), parallel_->size(), parallel_->rank());
            slice_batch(global, rows.first, rows.second, local_batch_);
            local = &local_batch_;
        }
        std::string anomaly;
        try {
            r = trainer_->forward_backward(*local, t);
        } catch (const NumericError& e) {  // anomaly mode: a non-finite value in an op's output or gradient
            anomaly = e.what();
            r = StepResult();
            r.loss = std::numeric_limits<double>::quiet_NaN();
            r.samples = local->size();
        }
        double stats[4] = {r.loss * static_cast<double>(r.samples), static_cast<double>(r.correct),
                           static_cast<double>(r.samples), anomaly.empty() ? 0.0 : 1.0};
        const index_t local_samples = r.samples;
        if (parallel_) {  // the global batch's figures; the same on every rank, so all ranks decide alike
            parallel_->sum(stats, 4);
            r.samples = static_cast<index_t>(stats[2]);
            r.correct = static_cast<index_t>(stats[1]);
            r.loss = stats[0] / stats[2];
        }
        if (stats[3] > 0 || !std::isfinite(r.loss)) {
            divergence_ = divergence_at(progress_.step + 1, global.index + 1);
            divergence_.loss = r.loss;
            divergence_.anomaly = stats[3] > 0;
            divergence_.what = !anomaly.empty()  ? anomaly
                               : stats[3] > 0    ? "anomaly mode found a non-finite value on another rank"
                                                   " (that rank printed the op)"
                                                 : "the training loss is " + number_text(r.loss);
            return false;
        }
        if (parallel_) {
            const double w = gradient_weight(local_samples, r.samples, parallel_->size());
            if (w != 1.0)
                for (Parameter<float>* p : trainer_->parameters()) p->grad().array() *= static_cast<float>(w);
            parallel_->average_gradients();
        }
        trainer_->apply();
        return true;
    }

    /// The test evaluation; data-parallel: every rank evaluates its shard of the test set with rank 0's buffers
    /// (batch-norm running statistics are per rank; rank 0's are the ones its checkpoint holds) and the sums
    /// are combined.
    Evaluation evaluate_test() {
        if (!parallel_) return evaluate(*model_, *test_, config_.eval_batch_size, trainer_->tape(), eval_loss_);
        std::vector<Tensor<float>> own;
        for (auto& b : model_->named_buffers()) {
            own.push_back(b.buffer->clone());
            parallel_->broadcast(b.buffer->data(), b.buffer->numel());
        }
        Evaluation e = evaluate(*model_, test_shard_, config_.eval_batch_size, trainer_->tape(), eval_loss_);
        std::size_t k = 0;
        for (auto& b : model_->named_buffers()) {  // back to this rank's own statistics
            std::copy(own[k].data(), own[k].data() + own[k].numel(), b.buffer->data());
            ++k;
        }
        const auto n = static_cast<double>(e.samples);
        double sums[3] = {e.loss * n, std::round(e.accuracy * n), n};
        parallel_->sum(sums, 3);
        e.samples = static_cast<index_t>(sums[2]);
        e.loss = sums[2] > 0 ? sums[0] / sums[2] : 0.0;
        e.accuracy = sums[2] > 0 ? sums[1] / sums[2] : 0.0;
        return e;
    }

    /// Whether the state may be saved: finite parameters and buffers (rank 0's, which it saves) and, when
    /// `evaluated`, a finite test loss. Otherwise sets divergence_ and returns false. Collective.
    bool state_is_sound(bool evaluated, double test_loss = 0.0) {
        std::string bad = (!parallel_ || parallel_->is_root()) ? first_non_finite_state(*model_) : std::string();
        double flag = bad.empty() ? 0.0 : 1.0;
        if (parallel_) parallel_->max(&flag, 1);
        const bool loss_bad = evaluated && !std::isfinite(test_loss);
        if (flag == 0 && !loss_bad) return true;
        divergence_ = divergence_at(progress_.step, 0);
        if (evaluated) divergence_.loss = test_loss;
        divergence_.what = flag > 0 ? (bad.empty() ? std::string("rank 0's model holds a NaN or infinity")
                                                       : bad + " is not finite")
                                        : "the test loss is " + number_text(test_loss);
        return false;
    }

    Divergence divergence_at(index_t step, index_t batch) const {
        Divergence d;
        d.epoch = progress_.epoch + 1;
        d.step = step;
        d.batch = batch;
        d.batches = loader_->num_batches();
        d.loss = std::numeric_limits<double>::quiet_NaN();
        return d;
    }

    TrainConfig config_;
    const data::Dataset* test_;
    DataParallel* parallel_ = nullptr;
    data::Dataset test_shard_;  ///< data-parallel: this rank's part of the test set
    data::Batch local_batch_;   ///< data-parallel: this rank's slice of the global batch
    std::unique_ptr<nn::Module<float>> model_;
    std::unique_ptr<TrainOptimizer> optimizer_;
    std::unique_ptr<data::DataLoader> loader_;
    optim::ScheduleDriver schedule_;
    std::unique_ptr<Trainer<float>> trainer_;
    nn::LossKind eval_loss_ = nn::LossKind::cross_entropy;
    TrainProgress progress_;
    std::vector<EpochMetrics> history_;
    Divergence divergence_;
    double training_seconds_ = 0;
    index_t saved_step_ = -1;
};

}  // namespace strata::train
