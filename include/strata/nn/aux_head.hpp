#pragma once
/// @file
/// Auxiliary heads (GoogLeNet; Lee et al. 2014, "Deeply-Supervised Nets"): extra classifiers on intermediate
/// features, trained on the same task and dropped after training.
///
/// An AuxHead<T> is a pass-through tap: its forward returns its input unchanged and, in training mode only,
/// also runs its head on that input and keeps the logits for the current tape step. Put it after any module
/// (in a Sequential, or call it in a model's forward) without changing that module. In eval mode the head is not
/// computed at all. collect_aux_outputs() gathers the logits of one forward; strip_aux_heads() drops the heads.

#include <string>
#include <vector>

#include "strata/nn/activation.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/nn/dropout.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"

namespace strata::nn {

/// A tap that runs an auxiliary classifier on the features passing through it (training mode only).
template <class T>
class AuxHead : public Module<T> {
public:
    /// Taps with `head` (any module mapping the features to [N, classes] logits).
    /// @throws ArgumentError when `head` is null.
    explicit AuxHead(std::unique_ptr<Module<T>> head) { head_ = &this->register_module("head", std::move(head)); }

    /// Returns `x`; in training mode also computes and keeps head(x).
    /// @throws what the head throws on `x` in training mode (a ShapeError names the head's module path).
    Var<T> forward(const Var<T>& x) override {
        if (this->is_training() && head_ != nullptr) logits_ = (*head_)(x);
        return x;
    }
    std::string type_name() const override { return "AuxHead"; }

    /// The logits computed by the latest training-mode forward on the current tape step, or an undefined Var.
    Var<T> logits() const { return logits_.is_alive() ? logits_ : Var<T>(); }
    /// Whether the head is still attached.
    bool has_head() const { return head_ != nullptr; }
    /// Drops the head (its parameters leave the module tree); the tap then does nothing.
    void strip() {
        this->unregister_module("head");
        head_ = nullptr;
        logits_ = Var<T>();
    }

private:
    Module<T>* head_ = nullptr;
    Var<T> logits_;
};

/// Which classifier an auxiliary head uses.
enum class AuxHeadKind {
    linear,     ///< global average pool + FC (light)
    googlenet,  ///< avg-pool 5x5/3, 1x1 conv 128 + ReLU, FC 1024 + ReLU, dropout 0.7, FC (Szegedy et al. 2015)
};

/// The head of an AuxHead for features of `in_channels` x `in_size` x `in_size`.
///
/// GoogLeNet's head pools 5x5 with stride 3 when the map is at least 5 wide, and globally otherwise (adaptive
/// pooling where the feature map is too small). Throws ArgumentError on non-positive sizes.
/// @throws ArgumentError when in_channels, in_size or num_classes is not positive, naming them.
template <class T>
std::unique_ptr<Sequential<T>> make_aux_classifier(AuxHeadKind kind, index_t in_channels, index_t in_size,
                                                   index_t num_classes) {
    check<ArgumentError>(in_channels > 0 && in_size > 0 && num_classes > 0,
                         "make_aux_classifier: sizes must be positive, got channels ", in_channels, ", size ",
                         in_size, ", classes ", num_classes);
    auto seq = make<Sequential<T>>();
    if (kind == AuxHeadKind::linear) {
        seq->push_back("pool", make<GlobalAvgPool2d<T>>());
        seq->push_back("flatten", make<Flatten<T>>());
        seq->push_back("fc", make<Linear<T>>(LinearOptions(in_channels, num_classes)));
        return seq;
    }
    index_t pooled = 1;
    if (in_size >= 5) {
        seq->push_back("pool", make<AvgPool2d<T>>(Pool2dOptions(5).stride(3)));
        pooled = (in_size - 5) / 3 + 1;
    } else {
        seq->push_back("pool", make<GlobalAvgPool2d<T>>());
    }
    seq->push_back("conv", make<Conv2d<T>>(Conv2dOptions(in_channels, 128, 1)));
    seq->push_back("relu1", make<ReLU<T>>());
    seq->push_back("flatten", make<Flatten<T>>());
    seq->push_back("fc1", make<Linear<T>>(LinearOptions(128 * pooled * pooled, 1024)));
    seq->push_back("relu2", make<ReLU<T>>());
    seq->push_back("dropout", make<Dropout<T>>(0.7));
    seq->push_back("fc2", make<Linear<T>>(LinearOptions(1024, num_classes)));
    return seq;
}

/// An AuxHead with a classifier of the given kind.
/// @throws ArgumentError when in_channels, in_size or num_classes is not positive, naming them.
template <class T>
std::unique_ptr<AuxHead<T>> make_aux_head(AuxHeadKind kind, index_t in_channels, index_t in_size, index_t num_classes) {
    return make<AuxHead<T>>(make_aux_classifier<T>(kind, in_channels, in_size, num_classes));
}

/// The outputs of one forward of a model with auxiliary heads.
template <class T>
struct Outputs {
    Var<T> main;                    ///< the model's own output
    std::vector<Var<T>> aux;        ///< each head's logits, in module order (empty in eval mode)
    std::vector<std::string> names; ///< each head's module path
};

/// The logits that the model's AuxHeads computed in the current tape step, in module order.
template <class T>
Outputs<T> collect_aux_outputs(Module<T>& model, const Var<T>& main) {
    Outputs<T> out{main, {}, {}};
    for (auto& [path, m] : model.named_modules())
        if (auto* head = dynamic_cast<AuxHead<T>*>(m)) {
            Var<T> l = head->logits();
            if (l.defined()) {
                out.aux.push_back(l);
                out.names.push_back(path);
            }
        }
    return out;
}

/// Runs `model(x)` and collects its auxiliary outputs (none in eval mode or for a model without heads).
/// @throws what model(x) throws (see Module::operator()).
template <class T>
Outputs<T> forward_with_aux(Module<T>& model, const Var<T>& x) {
    Var<T> y = model(x);
    return collect_aux_outputs(model, y);
}

/// Drops every auxiliary head of the model (for inference and saving); returns how many were dropped. Eval
/// outputs are unchanged: heads never run in eval mode.
template <class T>
int strip_aux_heads(Module<T>& model) {
    std::vector<AuxHead<T>*> heads;
    for (auto& [path, m] : model.named_modules())
        if (auto* head = dynamic_cast<AuxHead<T>*>(m))
            if (head->has_head()) heads.push_back(head);
    // Depth-first order lists a head before any head nested inside it: strip the inner ones first.
    for (auto it = heads.rbegin(); it != heads.rend(); ++it) (*it)->strip();
    return static_cast<int>(heads.size());
}

}  // namespace strata::nn

#ifdef STRATA_EXTERN_TEMPLATES  // float and double instantiated once (strata/detail/extern_templates.hpp)
#include "strata/detail/extern_templates.hpp"
namespace strata::nn {
#define STRATA_INSTANTIATE_(T) \
    STRATA_EXPLICIT_TEMPLATE class AuxHead<T>; \
    STRATA_EXPLICIT_TEMPLATE std::unique_ptr<Sequential<T>> make_aux_classifier<T>(AuxHeadKind, index_t, \
        index_t, index_t); \
    STRATA_EXPLICIT_TEMPLATE std::unique_ptr<AuxHead<T>> make_aux_head<T>(AuxHeadKind, index_t, index_t, index_t); \
    STRATA_EXPLICIT_TEMPLATE Outputs<T> collect_aux_outputs<T>(Module<T>&, const Var<T>&); \
    STRATA_EXPLICIT_TEMPLATE Outputs<T> forward_with_aux<T>(Module<T>&, const Var<T>&); \
    STRATA_EXPLICIT_TEMPLATE int strip_aux_heads<T>(Module<T>&);
STRATA_FOR_EACH_SCALAR(STRATA_INSTANTIATE_)
#undef STRATA_INSTANTIATE_
}  // namespace strata::nn
#endif
