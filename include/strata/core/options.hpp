#pragma once
/// @file
/// STRATA_ARG: declares a chained option setter and getter, as LibTorch's TORCH_ARG does
/// (`Conv2dOptions(1, 64, 7).stride(2).padding(3)`); the option structs of nn, optim and io use it.

/// Declares `name(value) -> Self&` (setter, chainable), `name() -> const type&` (getter) and the member.
#define STRATA_ARG(type, name)                 \
public:                                        \
    auto& name(const type& new_value) {        \
        this->name##_ = new_value;             \
        return *this;                          \
    }                                          \
    const type& name() const { return name##_; } \
                                               \
private:                                       \
    type name##_
