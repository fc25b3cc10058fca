#pragma once
/// @file
/// Parameter-free layers: ReLU, Flatten, and the pooling layers.

#include "strata/nn/module.hpp"
#include "strata/core/options.hpp"
#include "strata/ops/avg_pool2d.hpp"
#include "strata/ops/global_avg_pool2d.hpp"
#include "strata/ops/max_pool2d.hpp"
#include "strata/ops/relu.hpp"
#include "strata/ops/reshape.hpp"

namespace strata::nn {

/// max(x, 0) elementwise.
template <class T>
class ReLU : public Module<T> {
public:
    /// @throws what relu() throws (LifetimeError, NumericError in anomaly mode).
    Var<T> forward(const Var<T>& x) override {
        return this->forward_scope([&] { return relu(x); });
    }
    std::string type_name() const override { return "ReLU"; }
};

/// [N, ...] -> [N, rest], like torch.nn.Flatten().
template <class T>
class Flatten : public Module<T> {
public:
    /// @throws what flatten() throws (ShapeError for a rank-0 input).
    Var<T> forward(const Var<T>& x) override {
        return this->forward_scope([&] { return flatten(x); });
    }
    std::string type_name() const override { return "Flatten"; }
};

/// Options of MaxPool2d and AvgPool2d (stride defaults to the kernel size, as in PyTorch).
struct Pool2dOptions {
    explicit Pool2dOptions(index_t kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}
    STRATA_ARG(index_t, kernel_size);
    STRATA_ARG(index_t, stride);
    STRATA_ARG(index_t, padding) = 0;
    /// AvgPool2d only: whether padded zeros count in the average (PyTorch's default true).
    STRATA_ARG(bool, count_include_pad) = true;
};

namespace detail {
inline void print_pool(std::ostream& out, const char* name, const Pool2dOptions& o, bool with_count) {
    out << name << "(kernel_size=" << o.kernel_size() << ", stride=" << o.stride() << ", padding=" << o.padding();
    if (with_count) out << ", count_include_pad=" << (o.count_include_pad() ? "true" : "false");
    out << ')';
}
}  // namespace detail

/// Max pooling over [N, C, H, W].
template <class T>
class MaxPool2d : public Module<T> {
public:
    explicit MaxPool2d(const Pool2dOptions& options) : options_(options) {}
    /// @throws what max_pool2d() throws (ShapeError for an input that is not [N, C, H, W] or smaller than the
    /// kernel, ArgumentError for a bad kernel, stride or padding).
    Var<T> forward(const Var<T>& x) override {
        return this->forward_scope(
            [&] { return max_pool2d(x, options_.kernel_size(), options_.stride(), options_.padding()); });
    }
    std::string type_name() const override { return "MaxPool2d"; }
    /// "MaxPool2d(kernel_size=3, stride=2, padding=1)".
    void pretty_print(std::ostream& out) const override { detail::print_pool(out, "MaxPool2d", options_, false); }

private:
    Pool2dOptions options_;
};

/// Average pooling over [N, C, H, W].
template <class T>
class AvgPool2d : public Module<T> {
public:
    explicit AvgPool2d(const Pool2dOptions& options) : options_(options) {}
    /// @throws what avg_pool2d() throws (ShapeError for an input that is not [N, C, H, W] or smaller than the
    /// kernel, ArgumentError for a bad kernel, stride or padding).
    Var<T> forward(const Var<T>& x) override {
        return this->forward_scope([&] {
            return avg_pool2d(x, options_.kernel_size(), options_.stride(), options_.padding(),
                              options_.count_include_pad());
        });
    }
    std::string type_name() const override { return "AvgPool2d"; }
    /// "AvgPool2d(kernel_size=5, stride=3, padding=0, count_include_pad=true)".
    void pretty_print(std::ostream& out) const override { detail::print_pool(out, "AvgPool2d", options_, true); }

private:
    Pool2dOptions options_;
};

/// Mean over H and W: [N, C, H, W] -> [N, C, 1, 1], like torch.nn.AdaptiveAvgPool2d(1).
template <class T>
class GlobalAvgPool2d : public Module<T> {
public:
    /// @throws what global_avg_pool2d() throws (ShapeError for an input that is not [N, C, H, W] or has H * W == 0).
    Var<T> forward(const Var<T>& x) override {
        return this->forward_scope([&] { return global_avg_pool2d(x); });
    }
    std::string type_name() const override { return "GlobalAvgPool2d"; }
};

}  // namespace strata::nn
