#pragma once
/// @file
/// The initialisation shared by strata's model factories (torchvision's ResNet scheme).

#include "strata/nn/conv2d.hpp"
#include "strata/nn/linear.hpp"

namespace strata::models {

/// Re-initialises every Conv2d weight of the tree with Kaiming normal (fan-out, ReLU gain) as torchvision's ResNet
/// does, conv biases (nets without normalisation) and Linear layers with PyTorch's defaults, all drawn from `gen`
/// in module order. BatchNorm keeps gamma 1, beta 0.
template <class T>
void kaiming_initialise(nn::Module<T>& model, Generator& gen) {
    for (auto& [name, m] : model.named_modules()) {
        if (auto* c = dynamic_cast<nn::Conv2d<T>*>(m)) {
            nn::init::kaiming_normal(c->weight().value, nn::init::FanMode::fan_out, gen);
            if (c->bias()) nn::init::torch_default_bias(c->bias()->value, nn::init::fans(c->weight().value).in, gen);
        } else if (auto* l = dynamic_cast<nn::Linear<T>*>(m)) {
            l->reset_parameters(gen);
        }
    }
}

}  // namespace strata::models
