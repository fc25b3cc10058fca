#pragma once
/// @file
/// The complete state of a training run as an io::Checkpoint, so that a resumed run continues bit for bit:
///   model.*            parameters and buffers (batch-norm running statistics)
///   optim.*            optimizer state tensors (momentum buffers, moments, step counts)
///   sched.state        the schedule's state (f64), sched.kind its name
///   loader.epoch/batch where the data loader continues (its shuffles and augmentations are seeded by those)
///   rng.default        the default generator; rng.dropout.<path> each Dropout module's mask generator
///   progress.*         epochs completed, optimizer steps, and the current epoch's partial sums (loss, correct,
///                      samples) for an interruption in the middle of an epoch
///   meta.format        "strata-train 1"; meta.config the run's TrainConfig as text (see config.hpp)
///   arch.*             the architecture (models/model_file.hpp), so models::load_model reads the trained net

#include <string>
#include <vector>

#include "strata/data/data_loader.hpp"
#include "strata/io/checkpoint.hpp"
#include "strata/models/model_file.hpp"
#include "strata/nn/dropout.hpp"
#include "strata/nn/init.hpp"
#include "strata/optim/schedule/driver.hpp"

namespace strata::train {

/// The format tag of a training checkpoint.
inline const std::string training_checkpoint_format = "strata-train 1";

/// Where a run is, besides the model, optimizer, schedule and generators.
struct TrainProgress {
    index_t epoch = 0;           ///< epochs completed
    index_t step = 0;            ///< optimizer steps taken
    data::LoaderState loader;    ///< where the loader continues
    double loss_sum = 0;         ///< sum over the current epoch's samples so far of the loss (loss * batch size)
    index_t correct = 0;         ///< training samples of the current epoch classified correctly so far
    index_t samples = 0;         ///< training samples of the current epoch so far
};

namespace detail {

/// Every Dropout module of `model` with its path.
template <class T>
std::vector<std::pair<std::string, nn::Dropout<T>*>> dropout_modules(nn::Module<T>& model) {
    std::vector<std::pair<std::string, nn::Dropout<T>*>> out;
    for (auto& [path, m] : model.named_modules())
        if (auto* d = dynamic_cast<nn::Dropout<T>*>(m)) out.emplace_back(path.empty() ? "root" : path, d);
    return out;
}

/// The name of a schedule driver's schedule ("none" without one).
inline std::string schedule_kind(const optim::ScheduleDriver& driver) {
    if (driver.schedule()) return driver.schedule()->name();
    if (driver.plateau()) return "ReduceLROnPlateau";
    return "none";
}

}  // namespace detail

/// A checkpoint of the whole training state (see the file comment). `Opt` is any optimizer with
/// state_tensors() (optim::Optimizer, optim::AnyOptimizer).
template <class T, class Opt>
io::Checkpoint make_training_checkpoint(nn::Module<T>& model, Opt& optimizer, const optim::ScheduleDriver& schedule,
                                        const TrainProgress& progress, const std::string& config_text) {
    io::Checkpoint ck = io::Checkpoint::from_module(model);
    ck.add_optimizer(optimizer);
    ck.add_string("sched.kind", detail::schedule_kind(schedule));
    ck.add_doubles("sched.state", schedule.state());
    ck.add_scalar("loader.epoch", progress.loader.epoch);
    ck.add_scalar("loader.batch", progress.loader.batch);
    ck.add_generator("rng.default", strata::default_generator());
    for (auto& [path, d] : detail::dropout_modules(model)) ck.add_generator("rng.dropout." + path, d->generator());
    ck.add_scalar("progress.epoch", progress.epoch);
    ck.add_scalar("progress.step", progress.step);
    ck.add_scalar("progress.loss_sum", progress.loss_sum);
    ck.add_scalar("progress.correct", progress.correct);
    ck.add_scalar("progress.samples", progress.samples);
    ck.add_string("meta.format", training_checkpoint_format);
    ck.add_string("meta.config", config_text);
    models::add_architecture(ck, model);  // nothing for a model the registry does not build
    return ck;
}

/// The configuration text stored in a training checkpoint. Throws FormatError when `ck` is not a training
/// checkpoint (no or another meta.format).
inline std::string training_config_text(const io::Checkpoint& ck) {
    check<FormatError>(ck.has("meta.format") && ck.get_string("meta.format") == training_checkpoint_format,
                       "checkpoint ", ck.source(), " is not a training checkpoint of this version (no meta.format '",
                       training_checkpoint_format, "'); it cannot be resumed");
    return ck.get_string("meta.config");
}

/// Restores a make_training_checkpoint() into objects built the same way (same model, optimizer groups and
/// options, schedule kind). Throws FormatError or ArgumentError naming the entry on any mismatch: not a training
/// checkpoint, another schedule, a model or optimizer entry missing/unexpected/of another shape, a Dropout
/// module without its generator. The small entries (progress, generators, schedule state) are read first, and
/// the model and the optimizer are each validated completely before they are written; but an error in the
/// optimizer part can leave the model already restored (rebuild the objects before using them after an error).
template <class T, class Opt>
void load_training_checkpoint(const io::Checkpoint& ck, nn::Module<T>& model, Opt& optimizer,
                              optim::ScheduleDriver& schedule, TrainProgress& progress) {
    training_config_text(ck);
    const std::string kind = ck.get_string("sched.kind");
    check<FormatError>(kind == detail::schedule_kind(schedule), "checkpoint ", ck.source(), " has schedule ", kind,
                       " but the run uses ", detail::schedule_kind(schedule));
    const auto dropouts = detail::dropout_modules(model);
    std::vector<Generator> dropout_gens;
    for (auto& [path, d] : dropouts) dropout_gens.push_back(ck.get_generator("rng.dropout." + path));
    const auto saved_dropouts = ck.names("rng.dropout.");
    check<FormatError>(saved_dropouts.size() == dropouts.size(), "checkpoint ", ck.source(), " has ",
                       saved_dropouts.size(), " dropout generators but the model has ", dropouts.size(),
                       " Dropout modules");
    TrainProgress p;
    p.loader = {ck.get_scalar<index_t>("loader.epoch"), ck.get_scalar<index_t>("loader.batch")};
    p.epoch = ck.get_scalar<index_t>("progress.epoch");
    p.step = ck.get_scalar<index_t>("progress.step");
    p.loss_sum = ck.get_scalar<double>("progress.loss_sum");
    p.correct = ck.get_scalar<index_t>("progress.correct");
    p.samples = ck.get_scalar<index_t>("progress.samples");
    const Generator default_gen = ck.get_generator("rng.default");
    const std::vector<double> sched = ck.get_doubles("sched.state");

    ck.load_into(model);
    schedule.load_state(sched);  // before the optimizer: it may set options (momentum) that need state tensors
    ck.load_optimizer(optimizer);
    strata::default_generator() = default_gen;
    for (std::size_t i = 0; i < dropouts.size(); ++i) dropouts[i].second->generator() = dropout_gens[i];
    progress = p;
}

}  // namespace strata::train
