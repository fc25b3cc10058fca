#pragma once
/// @file
/// Sequential<T>: runs its children in order, like torch.nn.Sequential.

#include "strata/nn/module.hpp"

namespace strata::nn {

/// A chain of modules; children are named "0", "1", ... unless a name is given.
template <class T>
class Sequential : public Module<T> {
public:
    Sequential() = default;

    /// Appends a module under the next index as name; returns it.
    /// @throws ArgumentError when `module` is null.
    template <class M>
    M& push_back(std::unique_ptr<M> module) {
        return push_back(std::to_string(layers_.size()), std::move(module));
    }
    /// Appends a module under `name`; returns it.
    /// @throws ArgumentError when `name` is empty, contains '.' or is taken, or `module` is null.
    template <class M>
    M& push_back(const std::string& name, std::unique_ptr<M> module) {
        M& ref = this->register_module(name, std::move(module));
        layers_.push_back(&ref);
        return ref;
    }
    /// Constructs and appends a module: `seq.emplace<ReLU<float>>()`.
    /// @throws what M's constructor throws.
    template <class M, class... Args>
    M& emplace(Args&&... args) {
        return push_back(std::make_unique<M>(std::forward<Args>(args)...));
    }

    /// @throws what the children throw (a ShapeError names the failing child's module path).
    Var<T> forward(const Var<T>& x) override {
        Var<T> y = x;
        for (Module<T>* m : layers_) y = (*m)(y);
        return y;
    }
    std::string type_name() const override { return "Sequential"; }

    std::size_t size() const { return layers_.size(); }
    /// @throws std::out_of_range when i >= size().
    Module<T>& operator[](std::size_t i) { return *layers_.at(i); }

private:
    std::vector<Module<T>*> layers_;
};

}  // namespace strata::nn
