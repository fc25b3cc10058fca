#pragma once
/// @file
/// summary(): a torchsummary-like table of each layer's name, type, output shape and parameter count.

#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include "strata/nn/module.hpp"

namespace strata::nn {

namespace detail {
inline std::string with_commas(index_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
    return s;
}
}  // namespace detail

/// Runs one forward pass of a zero input of `input_shape` (evaluation mode, nothing recorded; the model's mode
/// is restored) and returns a table with one row per leaf module (path, type, output shape, parameters), then
/// the totals. Throws what the forward throws (a ShapeError names the module path) for a wrong input shape.
/// @throws what model's forward throws on a zero input of `input_shape` (ShapeError naming the module path).
template <class T>
std::string summary(Module<T>& model, const Shape& input_shape) {
    struct Row {
        std::string path, type;
        Shape shape;
        index_t params;
    };
    std::vector<Row> rows;
    std::map<const Module<T>*, std::string> leaves;
    for (auto& [path, m] : model.named_modules())
        if (m->named_children().empty()) leaves[m] = path;
    nn::detail::ForwardObserver<T> observer = [&](const Module<T>& m, const Var<T>& out) {
        auto it = leaves.find(&m);
        if (it == leaves.end()) return;
        index_t n = 0;
        for (Parameter<T>* p : const_cast<Module<T>&>(m).parameters()) n += p->numel();
        rows.push_back({it->second, m.type_name(), out.shape(), n});
    };
    const bool was_training = model.is_training();
    Tape tape;
    Tensor<T> input(input_shape);
    auto& slot = nn::detail::forward_observer<T>();
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

    std::ostringstream out;
    char line[160];
    std::snprintf(line, sizeof line, "%-32s %-18s %-22s %12s\n", "Layer (type)", "", "Output Shape", "Param #");
    out << line << std::string(88, '=') << "\n";
    index_t total = 0, trainable = 0;
    for (const Row& r : rows) {
        std::snprintf(line, sizeof line, "%-32s %-18s %-22s %12s\n", r.path.c_str(), ("(" + r.type + ")").c_str(),
                      r.shape.to_string().c_str(), detail::with_commas(r.params).c_str());
        out << line;
    }
    for (Parameter<T>* p : model.parameters()) {
        total += p->numel();
        if (p->requires_grad) trainable += p->numel();
    }
    out << std::string(88, '=') << "\n";
    out << "Input shape: " << input_shape << "\n";
    out << "Total params: " << detail::with_commas(total) << "\n";
    out << "Trainable params: " << detail::with_commas(trainable) << "\n";
    out << "Non-trainable params: " << detail::with_commas(total - trainable) << "\n";
    return out.str();
}

}  // namespace strata::nn

#ifdef STRATA_EXTERN_TEMPLATES  // float and double instantiated once (strata/detail/extern_templates.hpp)
#include "strata/detail/extern_templates.hpp"
namespace strata::nn {
#define STRATA_INSTANTIATE_(T) \
    STRATA_EXPLICIT_TEMPLATE std::string summary<T>(Module<T>&, const Shape&);
STRATA_FOR_EACH_SCALAR(STRATA_INSTANTIATE_)
#undef STRATA_INSTANTIATE_
}  // namespace strata::nn
#endif
