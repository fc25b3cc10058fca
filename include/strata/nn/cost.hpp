#pragma once
/// @file
/// multiply_adds(): the multiply-adds of one forward pass of a model, counted the way torchvision's model table
/// counts them (convolutions and linear layers; normalisation, activations, pooling and additions left out).

#include <map>

#include "strata/nn/conv2d.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/module.hpp"

namespace strata::nn {

/// The multiply-adds of one forward pass of `model` on an input of `input_shape` (batch first; pass a batch of 1
/// for the cost per image): for each Conv2d and Linear that runs, (output elements) x (weight elements per output
/// channel), i.e. out_channels * H_out * W_out * (in_channels / groups) * kH * kW per image for a convolution and
/// in * out for a linear layer; biases, normalisation, activations, pooling and additions are not counted. Every
/// module the forward runs counts, auxiliary heads included. Runs the forward on a zero input in evaluation mode
/// with nothing recorded; the model's mode is restored.
/// @throws what model's forward throws on a zero input of `input_shape` (ShapeError naming the module path).
template <class T>
index_t multiply_adds(Module<T>& model, const Shape& input_shape) {
    std::map<const Module<T>*, index_t> per_output;  // weight elements per output channel
    for (auto& [path, m] : model.named_modules()) {
        (void)path;
        Parameter<T>* w = nullptr;
        if (auto* c = dynamic_cast<Conv2d<T>*>(m)) w = &c->weight();
        else if (auto* l = dynamic_cast<Linear<T>*>(m)) w = &l->weight();
        if (w != nullptr && w->value.dim(0) > 0) per_output[m] = w->value.numel() / w->value.dim(0);
    }
    index_t total = 0;
    detail::ForwardObserver<T> observer = [&](const Module<T>& m, const Var<T>& out) {
        auto it = per_output.find(&m);
        if (it != per_output.end()) total += out.value().numel() * it->second;
    };
    const bool was_training = model.is_training();
    Tape tape;
    Tensor<T> input(input_shape);
    auto& slot = detail::forward_observer<T>();
    auto* previous = slot;
    slot = &observer;
    model.eval();
    try {
        NoGradGuard no_grad(tape);
        model(tape.constant(input));
    } catch (...) {
        slot = previous;
        model.train(was_training);
        throw;
    }
    slot = previous;
    model.train(was_training);
    return total;
}

}  // namespace strata::nn
