#pragma once
/// @file
/// The initialisation shared by strata's model factories (torchvision's ResNet scheme).

#include "strata/nn/conv2d.hpp"
#include "strata/nn/linear.hpp"

namespace strata::models {

/// Re-initialises every Conv2d of the tree with Kaiming normal (fan-out, ReLU gain) and a zero bias, and every
/// Linear with PyTorch's default, all drawn from `gen` in module order. BatchNorm keeps gamma 1, beta 0.
template <class T>
void kaiming_initialise(nn::Module<T>& model, Generator& gen) {
    for (auto& [name, m] : model.named_modules()) {
        if (auto* c = dynamic_cast<nn::Conv2d<T>*>(m)) {
            nn::init::kaiming_normal(c->weight().value, nn::init::FanMode::fan_out, gen);
            if (c->bias()) c->bias()->value.fill(T(0));
        } else if (auto* l = dynamic_cast<nn::Linear<T>*>(m)) {
            l->reset_parameters(gen);
        }
    }
}

}  // namespace strata::models
