#pragma once
/// @file
/// evaluate(): mean loss (cross-entropy, or another classification loss) and accuracy of a classifier on a
/// dataset, in eval mode with nothing recorded.

#include <algorithm>
#include <type_traits>
#include <vector>

#include "strata/data/dataset.hpp"
#include "strata/nn/deep_supervision.hpp"
#include "strata/nn/module.hpp"
#include "strata/ops/cross_entropy.hpp"

namespace strata::train {

/// Loss and accuracy over a dataset.
struct Evaluation {
    double loss = 0.0;      ///< mean loss (cross-entropy unless another loss was asked for)
    double accuracy = 0.0;  ///< fraction correct, in [0, 1]
    index_t samples = 0;
};

namespace detail {

/// `images` [N, C, H, W] (float, as datasets hold them) on `tape` as a constant Var<T>: copied into the arena for
/// float, converted for another T.
template <class T>
Var<T> images_on_tape(Tape& tape, TensorView<const float> images) {
    if constexpr (std::is_same_v<T, float>) {
        return tape.constant_copy<float>(images);
    } else {
        Tensor<T> converted(images.shape());
        for (index_t i = 0; i < images.numel(); ++i) converted.data()[i] = static_cast<T>(images.data()[i]);
        return tape.constant_copy<T>(converted.view());
    }
}

}  // namespace detail

/// Index of the largest logit of each row of [N, C] logits.
template <class T>
std::vector<index_t> argmax_rows(TensorView<const T> logits) {
    const index_t n = logits.dim(0), c = logits.dim(1);
    std::vector<index_t> out(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) {
        const T* row = logits.data() + i * c;
        out[static_cast<std::size_t>(i)] = std::max_element(row, row + c) - row;
    }
    return out;
}

/// Runs `model` in eval mode over `data` in batches of `batch_size` (the model's mode is restored afterwards),
/// measuring the mean of `loss` (e.g. squared hinge for a DSN) and the accuracy. `tape` is rewound before each
/// batch. Throws ArgumentError for batch_size < 1.
template <class T>
Evaluation evaluate(nn::Module<T>& model, const data::Dataset& data, index_t batch_size, Tape& tape,
                    nn::LossKind loss) {
    check<ArgumentError>(batch_size >= 1, "evaluate: batch_size must be >= 1, got ", batch_size);
    const bool was_training = model.is_training();
    model.eval();
    Evaluation e;
    const index_t n = data.size();
    for (index_t start = 0; start < n; start += batch_size) {
        const index_t b = std::min(batch_size, n - start);
        tape.rewind();
        NoGradGuard no_grad(tape);
        Var<T> x = detail::images_on_tape<T>(
            tape, TensorView<const float>(data.image(start), Shape{b, data.channels(), data.height(), data.width()}));
        Var<T> logits = model(x);
        const std::vector<index_t> labels(data.labels().begin() + start, data.labels().begin() + start + b);
        e.loss += static_cast<double>(nn::classification_loss(loss, logits, labels).item()) * static_cast<double>(b);
        const auto predicted = argmax_rows(logits.value());
        for (index_t i = 0; i < b; ++i) e.accuracy += predicted[static_cast<std::size_t>(i)] == labels[static_cast<std::size_t>(i)];
    }
    tape.rewind();
    model.train(was_training);
    e.samples = n;
    if (n > 0) {
        e.loss /= static_cast<double>(n);
        e.accuracy /= static_cast<double>(n);
    }
    return e;
}

/// evaluate() with the cross-entropy loss.
template <class T>
Evaluation evaluate(nn::Module<T>& model, const data::Dataset& data, index_t batch_size, Tape& tape) {
    return evaluate(model, data, batch_size, tape, nn::LossKind::cross_entropy);
}

}  // namespace strata::train
