#pragma once
/// @file
/// summary(): a torchsummary-like table of a model's layers (path, type, output shape, parameter count) whose
/// parameter column adds up to the total. `std::cout << summary(model)` prints it; `std::cout << model` prints
/// the module tree instead (Module's operator<<, as in LibTorch).

#include <cstdio>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "strata/nn/module.hpp"

namespace strata::nn {

namespace detail {
inline std::string with_commas(index_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
    return s;
}
}  // namespace detail

/// One row of a Summary: a leaf module, or a module with parameters of its own.
struct SummaryRow {
    std::string path;  ///< dotted module path ("layer1.0.conv1")
    std::string type;  ///< Module::type_name()
    /// The output shape of its first forward in the summary's pass; empty when no input shape was given or the
    /// module did not run in evaluation mode (auxiliary heads).
    std::optional<Shape> output_shape;
    index_t parameters = 0;  ///< elements of its own parameters (not its children's)
};

/// What summary() returns: the rows in module-tree order and the totals. Print it with operator<< or
/// to_string(); it also converts to std::string.
struct Summary {
    std::vector<SummaryRow> rows;
    std::optional<Shape> input_shape;  ///< the input of the forward pass, if one ran
    index_t total_parameters = 0;      ///< sum of the rows' parameters
    index_t trainable_parameters = 0;  ///< those with requires_grad

    /// The table as text.
    std::string to_string() const {
        std::ostringstream out;
        out << *this;
        return out.str();
    }
    operator std::string() const { return to_string(); }

    friend std::ostream& operator<<(std::ostream& out, const Summary& s) {
        char line[200];
        const bool shapes = s.input_shape.has_value();
        auto row = [&](const std::string& path, const std::string& type, const std::string& shape,
                       const std::string& params) {
            if (shapes)
                std::snprintf(line, sizeof line, "%-32s %-18s %-22s %12s\n", path.c_str(), type.c_str(),
                              shape.c_str(), params.c_str());
            else
                std::snprintf(line, sizeof line, "%-32s %-18s %12s\n", path.c_str(), type.c_str(), params.c_str());
            out << line;
        };
        const std::string rule(shapes ? 87 : 64, '=');
        row("Layer", "(type)", "Output Shape", "Param #");
        out << rule << '\n';
        bool skipped = false;
        for (const SummaryRow& r : s.rows) {
            std::string shape = "-";
            if (r.output_shape) {
                shape = r.output_shape->to_string();
            } else {
                skipped = true;
            }
            row(r.path.empty() ? "(root)" : r.path, "(" + r.type + ")", shape, detail::with_commas(r.parameters));
        }
        out << rule << '\n';
        if (shapes) out << "Input shape: " << *s.input_shape << '\n';
        out << "Total params: " << detail::with_commas(s.total_parameters) << '\n';
        out << "Trainable params: " << detail::with_commas(s.trainable_parameters) << '\n';
        out << "Non-trainable params: " << detail::with_commas(s.total_parameters - s.trainable_parameters) << '\n';
        if (shapes && skipped) out << "Output shape '-': not run in evaluation mode (auxiliary heads)\n";
        return out;
    }
};

namespace detail {
/// The rows of summary(model); `modules` (if given) receives each row's module.
template <class T>
Summary summary_rows(Module<T>& model, std::vector<const Module<T>*>* modules) {
    Summary s;
    for (auto& [path, m] : model.named_modules()) {
        index_t own = 0, trainable = 0;
        for (auto& np : m->named_parameters())
            if (np.name.find('.') == std::string::npos) {
                own += np.parameter->numel();
                if (np.parameter->requires_grad) trainable += np.parameter->numel();
            }
        if (!m->named_children().empty() && own == 0) continue;
        s.rows.push_back({path, m->type_name(), std::nullopt, own});
        if (modules) modules->push_back(m);
        s.total_parameters += own;
        s.trainable_parameters += trainable;
    }
    return s;
}
}  // namespace detail

/// The model's layers without running it: one row per leaf module and per module with parameters of its own,
/// in module-tree order, so the rows' parameters add up to the total (auxiliary heads included).
template <class T>
Summary summary(Module<T>& model) {
    return detail::summary_rows<T>(model, nullptr);
}

/// summary(model) with each row's output shape, from one forward pass of a zero input of `input_shape`
/// (evaluation mode, nothing recorded; the model's mode is restored). Modules that do not run in evaluation
/// mode (auxiliary heads) keep their rows with no output shape.
/// @throws what model's forward throws on a zero input of `input_shape` (ShapeError naming the module path).
template <class T>
Summary summary(Module<T>& model, const Shape& input_shape) {
    std::vector<const Module<T>*> modules;
    Summary s = detail::summary_rows(model, &modules);
    s.input_shape = input_shape;
    std::map<const Module<T>*, SummaryRow*> row_of;
    for (std::size_t i = 0; i < modules.size(); ++i) row_of[modules[i]] = &s.rows[i];
    nn::detail::ForwardObserver<T> observer = [&](const Module<T>& m, const Var<T>& out) {
        auto it = row_of.find(&m);
        if (it != row_of.end() && !it->second->output_shape) it->second->output_shape = out.shape();
    };
    const bool was_training = model.is_training();
    Tape tape;
    Tensor<T> input(input_shape);
    auto& slot = nn::detail::forward_observer<T>();
    auto* previous = slot;
    slot = &observer;
    // Mode flags are written only when some module is in training mode: summary() of a model wholly in eval
    // mode writes nothing the model shares, so threads serving the same model may run meanwhile.
    bool any_training = false;
    for (auto& entry : model.named_modules()) any_training = any_training || entry.second->is_training();
    if (any_training) model.eval();
    try {
        NoGradGuard no_grad(tape);
        model(tape.constant(input));
    } catch (...) {
        slot = previous;
        if (any_training) model.train(was_training);
        throw;
    }
    slot = previous;
    if (any_training) model.train(was_training);
    return s;
}

}  // namespace strata::nn
