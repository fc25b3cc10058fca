#pragma once
/// @file
/// split_weight_decay: divides a model's parameters into the ones to decay (convolution and linear weights) and
/// the ones not to (batch-norm scales and shifts, biases), for two parameter groups with different weight decay.

#include <string>
#include <vector>

#include "strata/nn/module.hpp"

namespace strata::optim {

/// The two parameter lists split_weight_decay returns, each in the model's parameter order.
template <class T>
struct WeightDecaySplit {
    /// Parameters of rank >= 2 (convolution and linear weights).
    std::vector<Parameter<T>*> decay;
    /// Parameters of rank <= 1 (batch-norm weights and biases, every bias), and any parameter whose name
    /// contains one of the extra no-decay patterns.
    std::vector<Parameter<T>*> no_decay;
};

/// Splits `named` (from Module::named_parameters()) by rank: rank >= 2 goes to `decay`, the rest to `no_decay`.
/// A parameter whose dotted name contains any of `extra_no_decay` (e.g. {"fc."}) goes to `no_decay` whatever its
/// rank. Frozen parameters are kept (optimizers skip them). Throws ArgumentError on a null parameter pointer.
///
/// Typical use:
///   auto split = split_weight_decay(net.named_parameters());
///   SGD<float> opt(SGDOptions(0.1).momentum(0.9));
///   opt.add_param_group(split.decay, SGDOptions(0.1).momentum(0.9).weight_decay(5e-4));
///   opt.add_param_group(split.no_decay, SGDOptions(0.1).momentum(0.9));
/// @throws ArgumentError for a null parameter pointer, naming the parameter.
template <class T>
WeightDecaySplit<T> split_weight_decay(const std::vector<nn::NamedParameter<T>>& named,
                                       const std::vector<std::string>& extra_no_decay = {}) {
    WeightDecaySplit<T> out;
    for (const nn::NamedParameter<T>& np : named) {
        check<ArgumentError>(np.parameter != nullptr, "split_weight_decay: parameter '", np.name, "' is null");
        bool decay = np.parameter->value.rank() >= 2;
        for (const std::string& pattern : extra_no_decay)
            if (!pattern.empty() && np.name.find(pattern) != std::string::npos) decay = false;
        (decay ? out.decay : out.no_decay).push_back(np.parameter);
    }
    return out;
}

}  // namespace strata::optim
