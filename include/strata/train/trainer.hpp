#pragma once
/// @file
/// Trainer: one training step of a classifier, with or without auxiliary heads. A step is: rewind the tape,
/// forward (collecting auxiliary-head logits, nn::forward_with_aux), loss (nn::DeepSupervisionLoss: the main
/// loss plus the weighted auxiliary losses; just the main loss for a model without heads), zero_grad, backward,
/// optional gradient-norm clipping, optimizer step, schedule step (per-iteration schedules). A data-parallel loop
/// runs the two halves separately (forward_backward(), then averages the gradients over the ranks, then apply()),
/// and so can a loop that checks the loss before it lets the optimizer step.

#include <type_traits>
#include <utility>
#include <vector>

#include "strata/autograd/tape.hpp"
#include "strata/data/data_loader.hpp"
#include "strata/nn/deep_supervision.hpp"
#include "strata/optim/clip.hpp"
#include "strata/optim/schedule/driver.hpp"
#include "strata/train/evaluate.hpp"
#include "strata/optim/any_optimizer.hpp"

namespace strata::train {

/// What one step measured.
struct StepResult {
    double loss = 0;      ///< the total loss of the batch (main + weighted auxiliary terms)
    index_t correct = 0;  ///< samples whose main logits' argmax is the label
    index_t samples = 0;  ///< batch size
};

/// Runs training steps of `model` with `optimizer` and `schedule` (all borrowed; they must outlive the Trainer).
/// The optimizer is any optim::AnyOptimizer<T> (optim::make_optimizer builds one by name).
template <class T>
class Trainer {
public:
    /// A trainer with the loss `loss` and, when clip_grad_norm > 0, gradient clipping to that global L2 norm.
    /// Throws ArgumentError on a negative clip_grad_norm.
    Trainer(nn::Module<T>& model, optim::AnyOptimizer<T>& optimizer, optim::ScheduleDriver& schedule,
            nn::DeepSupervisionOptions loss = {}, double clip_grad_norm = 0.0)
        : model_(&model), optimizer_(&optimizer), schedule_(&schedule), loss_(std::move(loss)),
          clip_(clip_grad_norm), params_(optimizer.parameters()) {
        check<ArgumentError>(clip_grad_norm >= 0, "Trainer: clip_grad_norm must be >= 0, got ", clip_grad_norm);
    }

    /// One step on `batch` (the model is put in training mode): forward_backward() then apply(). `progress` is
    /// the training progress passed to the loss's auxiliary weights (the caller's unit, e.g. fractional epochs).
    /// Throws ShapeError when the batch does not fit the model, NumericError in anomaly mode (see tape()).
    StepResult step(const data::Batch& batch, double progress = 0.0) {
        const StepResult r = forward_backward(batch, progress);
        apply();
        return r;
    }

    /// The first half of a step: forward on `batch` in training mode, loss, zeroed gradients, backward. The
    /// parameters' gradients then hold the gradient of this batch's loss; nothing is updated. Throws as step();
    /// in anomaly mode (tape().set_detect_anomaly(true)) a NaN or infinity in any recorded op's output or
    /// gradient throws NumericError naming the op.
    StepResult forward_backward(const data::Batch& batch, double progress = 0.0) {
        model_->train();
        tape_.rewind();
        Var<T> x;
        if constexpr (std::is_same_v<T, float>) {
            x = tape_.constant(batch.images);
        } else {
            input_ = Tensor<T>(batch.images.shape());
            for (index_t i = 0; i < input_.numel(); ++i) input_.data()[i] = static_cast<T>(batch.images.data()[i]);
            x = tape_.constant(input_);
        }
        nn::forward_with_aux(*model_, x, outputs_);  // reuses outputs_'s storage from step to step
        const nn::Outputs<T>& out = outputs_;
        const Var<T> loss = loss_(out, batch.labels, progress);
        optimizer_->zero_grad();
        loss.backward();
        StepResult r;
        r.loss = static_cast<double>(loss.item());
        r.samples = batch.size();
        const auto predicted = argmax_rows(out.main.value());
        for (index_t i = 0; i < r.samples; ++i)
            r.correct += predicted[static_cast<std::size_t>(i)] == batch.labels[static_cast<std::size_t>(i)];
        return r;
    }

    /// The second half of a step: clips the gradients (when clip_grad_norm > 0), steps the optimizer and the
    /// per-iteration schedule.
    void apply() {
        if (clip_ > 0) last_grad_norm_ = optim::clip_grad_norm(params_, clip_);
        optimizer_->step();
        schedule_->after_iteration();
    }

    /// The tape (also usable for evaluation between steps; set_detect_anomaly() turns anomaly mode on).
    Tape& tape() { return tape_; }
    /// The parameters the optimizer updates (and clipping sees).
    const std::vector<Parameter<T>*>& parameters() const { return params_; }
    /// The loss function.
    const nn::DeepSupervisionLoss<T>& loss() const { return loss_; }
    /// The global gradient norm before clipping at the latest step (0 without clipping).
    double last_grad_norm() const { return last_grad_norm_; }

private:
    nn::Module<T>* model_;
    optim::AnyOptimizer<T>* optimizer_;
    optim::ScheduleDriver* schedule_;
    nn::DeepSupervisionLoss<T> loss_;
    double clip_;
    std::vector<Parameter<T>*> params_;
    double last_grad_norm_ = 0;
    Tape tape_;
    Tensor<T> input_;  // the batch converted to T (T other than float)
    nn::Outputs<T> outputs_;
};

}  // namespace strata::train
