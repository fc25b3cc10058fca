#pragma once
/// @file
/// Module<T>: the base of every layer, block and model. Registers parameters, buffers (batch-norm running
/// statistics) and child modules by name, like torch::nn::Module, without LibTorch's ModuleHolder indirection.

#include <cstdlib>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>
#if defined(__GNUG__)
#include <cxxabi.h>
#endif

#include "strata/autograd/tape.hpp"

namespace strata::nn {

template <class T>
class Module;

namespace detail {
/// Called after every module's forward while set (used by summary()); thread-local.
template <class T>
using ForwardObserver = std::function<void(const Module<T>&, const Var<T>& output)>;
template <class T>
ForwardObserver<T>*& forward_observer() {
    thread_local ForwardObserver<T>* observer = nullptr;
    return observer;
}
/// The module whose forward scope this thread is in (Module::forward_scope), or null.
template <class T>
const Module<T>*& active_module() {
    thread_local const Module<T>* active = nullptr;
    return active;
}

/// The unqualified class name of a type, without template arguments: "strata::nn::Conv2d<float>" -> "Conv2d",
/// "(anonymous namespace)::MyNet" -> "MyNet".
inline std::string short_type_name(const std::type_info& type) {
    std::string full = type.name();
#if defined(__GNUG__)
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                     std::free);
    if (status == 0 && demangled) full = demangled.get();
#endif
    for (const char* prefix : {"class ", "struct "})  // MSVC's spelling
        if (full.rfind(prefix, 0) == 0) full.erase(0, std::char_traits<char>::length(prefix));
    std::string plain;  // without anything inside <...>
    int depth = 0;
    for (char c : full) {
        if (c == '<') ++depth;
        if (depth == 0) plain += c;
        if (c == '>' && depth > 0) --depth;
    }
    const std::size_t colon = plain.rfind("::");
    return colon == std::string::npos ? plain : plain.substr(colon + 2);
}
}  // namespace detail

/// A named parameter of a module tree ("layer1.0.conv1.weight").
template <class T>
struct NamedParameter {
    std::string name;
    Parameter<T>* parameter;
};

/// A named buffer of a module tree ("bn1.running_mean").
template <class T>
struct NamedBuffer {
    std::string name;
    Tensor<T>* buffer;
};

/// Base class of layers, blocks and models.
///
/// A subclass registers what it owns in its constructor (`register_parameter`, `register_buffer`,
/// `register_module`) and implements `forward` from ops; it never writes a backward by hand. Modules are not
/// copyable (they own parameters); hold them by value or unique_ptr.
template <class T>
class Module {
public:
    using value_type = T;

    Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    virtual ~Module() = default;

    /// Computes the module's output. `module(x)` and `module.forward(x)` both work; the built-in layers give
    /// shape errors their module path either way, a custom module's forward gets it through operator() (or by
    /// wrapping its body in forward_scope()).
    /// @throws what the module's ops throw: ShapeError for an input of the wrong shape, LifetimeError for a dead
    /// input Var, NumericError in anomaly mode (see each layer).
    virtual Var<T> forward(const Var<T>& x) = 0;

    /// Runs forward in this module's forward_scope(): a ShapeError from inside is rethrown with this module's
    /// path and type prepended.
    /// @throws ShapeError "in module '<path>' (<type>): <the op's message>" for a shape error anywhere inside;
    /// whatever else forward() throws, unchanged.
    Var<T> operator()(const Var<T>& x) {
        return forward_scope([&] { return forward(x); });
    }

    /// The class name shown by summary(), operator<< and errors ("Conv2d"). By default the class's own name
    /// without namespace or template arguments (from RTTI); override it to choose another.
    virtual std::string type_name() const { return detail::short_type_name(typeid(*this)); }
    /// LibTorch's spelling of type_name().
    std::string name() const { return type_name(); }

    /// Writes this module's one-line description for operator<< ("Conv2d(1, 8, kernel_size=3, stride=1)");
    /// by default its type_name(). Layers override it to show their options.
    virtual void pretty_print(std::ostream& out) const { out << type_name(); }

    /// Sets training (true) or evaluation (false) mode on this module and all descendants.
    void train(bool on = true) {
        training_ = on;
        for (auto& c : children_) c.second->train(on);
    }
    /// Evaluation mode: batch-norm uses running statistics, dropout is off, auxiliary heads are skipped.
    void eval() { train(false); }
    bool is_training() const { return training_; }

    /// Every parameter of the tree, depth first in registration order.
    std::vector<Parameter<T>*> parameters() {
        std::vector<Parameter<T>*> out;
        for (auto& np : named_parameters()) out.push_back(np.parameter);
        return out;
    }
    /// Every parameter with its dotted name.
    std::vector<NamedParameter<T>> named_parameters() {
        std::vector<NamedParameter<T>> out;
        visit("", [&](const std::string& prefix, Module& m) {
            for (auto& p : m.parameters_) out.push_back({prefix + p.first, p.second.get()});
        });
        return out;
    }
    /// Every parameter with its dotted name, for read-only use (saving, counting).
    std::vector<NamedParameter<T>> named_parameters() const { return const_cast<Module*>(this)->named_parameters(); }
    /// Every buffer (running statistics) with its dotted name.
    std::vector<NamedBuffer<T>> named_buffers() {
        std::vector<NamedBuffer<T>> out;
        visit("", [&](const std::string& prefix, Module& m) {
            for (auto& b : m.buffers_) out.push_back({prefix + b.first, b.second.get()});
        });
        return out;
    }
    /// Every buffer with its dotted name, for read-only use (saving).
    std::vector<NamedBuffer<T>> named_buffers() const { return const_cast<Module*>(this)->named_buffers(); }
    /// Every module of the tree with its dotted path (the root has path "").
    std::vector<std::pair<std::string, Module*>> named_modules() {
        std::vector<std::pair<std::string, Module*>> out;
        visit("", [&](const std::string& prefix, Module& m) {
            out.emplace_back(prefix.empty() ? prefix : prefix.substr(0, prefix.size() - 1), &m);
        });
        return out;
    }
    /// The direct children with their names.
    std::vector<std::pair<std::string, Module*>> named_children() {
        std::vector<std::pair<std::string, Module*>> out;
        for (auto& c : children_) out.emplace_back(c.first, c.second.get());
        return out;
    }
    /// The direct child called `name`, or nullptr.
    Module* child(const std::string& name) {
        for (auto& c : children_)
            if (c.first == name) return c.second.get();
        return nullptr;
    }

    /// Zeroes every parameter's gradient.
    void zero_grad() {
        for (Parameter<T>* p : parameters()) p->zero_grad();
    }
    /// Total number of parameter elements (buffers not counted), like sum(p.numel() for p in parameters()).
    index_t parameter_count() {
        index_t n = 0;
        for (Parameter<T>* p : parameters()) n += p->numel();
        return n;
    }

    /// This module's dotted path in the tree it was registered into ("layer3.1.conv2"; "" for a root).
    const std::string& path() const { return path_; }

    /// Writes the module tree, one module a line with its children indented under it, like LibTorch's and
    /// PyTorch's printing: `std::cout << model;`.
    friend std::ostream& operator<<(std::ostream& out, const Module& m) {
        m.print_tree(out, 0);
        return out;
    }

protected:
    /// For module authors: runs `body` (which computes this module's output) as this module's forward, as
    /// operator() does: a ShapeError thrown inside is rethrown with this module's path and type prepended, and
    /// summary() sees the output. The built-in layers wrap their forward's body in it, so a direct
    /// `conv1->forward(x)` names "conv1" in errors too; a scope already open for this module (operator() ->
    /// forward()) is not opened twice.
    /// @throws ShapeError "in module '<path>' (<type>): <message>" for a shape error inside; anything else `body`
    /// throws, unchanged.
    template <class F>
    Var<T> forward_scope(F&& body) {
        const Module*& active = detail::active_module<T>();
        if (active == this) return body();
        const Module* outer = active;
        active = this;
        Var<T> y;
        try {
            y = body();
        } catch (const ShapeError& e) {
            active = outer;
            const std::string msg = e.what();
            if (path_.empty() || msg.rfind("in module ", 0) == 0) throw;
            throw ShapeError("in module '" + path_ + "' (" + type_name() + "): " + msg);
        } catch (...) {
            active = outer;
            throw;
        }
        active = outer;
        if (auto* observer = detail::forward_observer<T>()) (*observer)(*this, y);
        return y;
    }

    /// Registers a parameter; the returned reference stays valid for the module's lifetime.
    /// @throws ArgumentError when `name` is empty, contains '.' or is already registered in this module.
    Parameter<T>& register_parameter(const std::string& name, Tensor<T> initial) {
        check_new_name(name);
        parameters_.emplace_back(name, std::make_unique<Parameter<T>>(std::move(initial)));
        return *parameters_.back().second;
    }
    /// Registers a buffer (state saved in checkpoints but not trained).
    /// @throws ArgumentError when `name` is empty, contains '.' or is already registered in this module.
    Tensor<T>& register_buffer(const std::string& name, Tensor<T> initial) {
        check_new_name(name);
        buffers_.emplace_back(name, std::make_unique<Tensor<T>>(std::move(initial)));
        return *buffers_.back().second;
    }
    /// Registers a child module and returns it (owned by this module).
    /// @throws ArgumentError when `name` is empty, contains '.' or is already registered, or `module` is null.
    template <class M>
    M& register_module(const std::string& name, std::unique_ptr<M> module) {
        check_new_name(name);
        check<ArgumentError>(module != nullptr, "register_module('", name, "'): null module");
        M& ref = *module;
        ref.train(training_);
        children_.emplace_back(name, std::move(module));
        children_.back().second->set_path(path_.empty() ? name : path_ + "." + name);
        return ref;
    }
    /// Removes a child module (used to strip auxiliary heads); returns whether it existed.
    bool unregister_module(const std::string& name) {
        for (auto it = children_.begin(); it != children_.end(); ++it)
            if (it->first == name) {
                children_.erase(it);
                return true;
            }
        return false;
    }

private:
    void check_new_name(const std::string& name) const {
        check<ArgumentError>(!name.empty() && name.find('.') == std::string::npos, "invalid name '", name,
                             "' in module ", type_name(), ": names must be non-empty and contain no '.'");
        auto taken = [&](const auto& list) {
            for (auto& e : list)
                if (e.first == name) return true;
            return false;
        };
        check<ArgumentError>(!taken(parameters_) && !taken(buffers_) && !taken(children_), "name '", name,
                             "' registered twice in module ", type_name());
    }
    void set_path(const std::string& path) {
        path_ = path;
        for (auto& c : children_) c.second->set_path(path + "." + c.first);
    }
    void print_tree(std::ostream& out, int indent) const {
        pretty_print(out);
        if (children_.empty()) return;
        out << "(\n";
        for (auto& c : children_) {
            out << std::string(static_cast<std::size_t>(indent + 2), ' ') << '(' << c.first << "): ";
            c.second->print_tree(out, indent + 2);
            out << '\n';
        }
        out << std::string(static_cast<std::size_t>(indent), ' ') << ')';
    }
    template <class F>
    void visit(const std::string& prefix, F&& f) {
        f(prefix, *this);
        for (auto& c : children_) c.second->visit(prefix + c.first + ".", f);
    }

    std::vector<std::pair<std::string, std::unique_ptr<Parameter<T>>>> parameters_;
    std::vector<std::pair<std::string, std::unique_ptr<Tensor<T>>>> buffers_;
    std::vector<std::pair<std::string, std::unique_ptr<Module<T>>>> children_;
    std::string path_;
    bool training_ = true;
};

/// Constructs a module for registration: `register_module("fc", make<Linear<T>>(LinearOptions(512, 10)))`.
template <class M, class... Args>
std::unique_ptr<M> make(Args&&... args) {
    return std::make_unique<M>(std::forward<Args>(args)...);
}

}  // namespace strata::nn
