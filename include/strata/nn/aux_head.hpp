#pragma once
/// @file
/// Auxiliary heads (GoogLeNet; Lee et al. 2014, "Deeply-Supervised Nets"): extra classifiers on intermediate
/// features, trained on the same task and dropped after training.
///
/// An AuxHead<T> is a pass-through tap: its forward returns its input unchanged. Put it after any module (in a
/// Sequential, or call it in a model's forward) without changing that module. The heads' logits travel with the
/// call, as the tuple that torchvision's GoogLeNet returns in training mode: `forward_with_aux(model, x)` returns
/// the main output and the logits of every head that ran during that call. A head runs only inside
/// forward_with_aux() in training mode; in eval mode, or in a plain `model(x)`, it runs nothing and records
/// nothing on the tape. The module keeps no outputs, so calling one model twice on a tape (two crops, a siamese
/// pair, a teacher and a student) gives two independent sets of logits. strip_aux_heads() drops the heads.

#include <string>
#include <vector>

#include "strata/nn/activation.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/nn/dropout.hpp"
#include "strata/nn/linear.hpp"
#include "strata/core/options.hpp"
#include "strata/nn/sequential.hpp"

namespace strata::nn {

/// The outputs of one forward of a model with auxiliary heads (forward_with_aux()).
template <class T>
struct Outputs {
    Var<T> main;                     ///< the model's own output
    std::vector<Var<T>> aux;         ///< the logits of each head that ran, in call order (empty in eval mode)
    std::vector<std::string> names;  ///< each of those heads' module path (Module::path(), "aux1")
};

namespace detail {
/// Where the AuxHeads called during one forward_with_aux() put their logits; thread-local, one per open call.
template <class T>
struct AuxCollection {
    Outputs<T>* out;
    std::size_t count;  ///< heads recorded so far (out->names keeps longer strings of an earlier call for reuse)

    /// Reserves the next entry for the head at `path` and returns its index.
    std::size_t reserve(const std::string& path) {
        if (count < out->names.size())
            out->names[count] = path;  // assigns into the existing string: no allocation once it is long enough
        else
            out->names.push_back(path);
        out->aux.emplace_back();
        return count++;
    }
};
template <class T>
AuxCollection<T>*& current_aux_collection() {
    thread_local AuxCollection<T>* collection = nullptr;
    return collection;
}
/// Opens `collection` for the current thread; the destructor restores the one open before (nested calls).
template <class T>
class AuxCollectionScope {
public:
    explicit AuxCollectionScope(AuxCollection<T>& collection) : previous_(current_aux_collection<T>()) {
        current_aux_collection<T>() = &collection;
    }
    AuxCollectionScope(const AuxCollectionScope&) = delete;
    AuxCollectionScope& operator=(const AuxCollectionScope&) = delete;
    ~AuxCollectionScope() { current_aux_collection<T>() = previous_; }

private:
    AuxCollection<T>* previous_;
};
}  // namespace detail

/// Which classifier an auxiliary head uses.
enum class AuxHeadKind {
    linear,     ///< global average pool + FC (light)
    googlenet,  ///< avg-pool 5x5/3, 1x1 conv 128 + ReLU, FC 1024 + ReLU, dropout 0.7, FC (Szegedy et al. 2015)
};

/// Options of an auxiliary head's classifier: `AuxHeadOptions(64, 10)` (linear),
/// `AuxHeadOptions(64, 10).kind(AuxHeadKind::googlenet).in_size(14)`.
struct AuxHeadOptions {
    AuxHeadOptions(index_t in_channels, index_t num_classes) : in_channels_(in_channels), num_classes_(num_classes) {}
    STRATA_ARG(index_t, in_channels);
    STRATA_ARG(index_t, num_classes);
    STRATA_ARG(AuxHeadKind, kind) = AuxHeadKind::linear;
    /// Height (= width) of the feature map; needed by the googlenet kind only, whose FC size depends on it.
    STRATA_ARG(index_t, in_size) = 0;
};

/// The classifier of an auxiliary head.
///
/// GoogLeNet's head pools 5x5 with stride 3 when the map is at least 5 wide, and globally otherwise (adaptive
/// pooling where the feature map is too small).
/// @throws ArgumentError when in_channels or num_classes is not positive, or the googlenet kind gets no positive
/// in_size, naming the values.
template <class T>
std::unique_ptr<Sequential<T>> make_aux_classifier(const AuxHeadOptions& o) {
    check<ArgumentError>(o.in_channels() > 0 && o.num_classes() > 0,
                         "make_aux_classifier: in_channels and num_classes must be positive, got ", o.in_channels(),
                         " and ", o.num_classes());
    auto seq = make<Sequential<T>>();
    if (o.kind() == AuxHeadKind::linear) {
        seq->push_back("pool", make<GlobalAvgPool2d<T>>());
        seq->push_back("flatten", make<Flatten<T>>());
        seq->push_back("fc", make<Linear<T>>(LinearOptions(o.in_channels(), o.num_classes())));
        return seq;
    }
    check<ArgumentError>(o.in_size() > 0, "make_aux_classifier: a googlenet head sizes its FC from the feature map, ",
                         "so it needs AuxHeadOptions(", o.in_channels(), ", ", o.num_classes(),
                         ").in_size(n) with n > 0, got in_size ", o.in_size());
    index_t pooled = 1;
    if (o.in_size() >= 5) {
        seq->push_back("pool", make<AvgPool2d<T>>(Pool2dOptions(5).stride(3)));
        pooled = (o.in_size() - 5) / 3 + 1;
    } else {
        seq->push_back("pool", make<GlobalAvgPool2d<T>>());
    }
    seq->push_back("conv", make<Conv2d<T>>(Conv2dOptions(o.in_channels(), 128, 1)));
    seq->push_back("relu1", make<ReLU<T>>());
    seq->push_back("flatten", make<Flatten<T>>());
    seq->push_back("fc1", make<Linear<T>>(LinearOptions(128 * pooled * pooled, 1024)));
    seq->push_back("relu2", make<ReLU<T>>());
    seq->push_back("dropout", make<Dropout<T>>(0.7));
    seq->push_back("fc2", make<Linear<T>>(LinearOptions(1024, o.num_classes())));
    return seq;
}

/// A tap that runs an auxiliary classifier on the features passing through it, inside forward_with_aux() in
/// training mode only. Its classifier is the child "head".
template <class T>
class AuxHead : public Module<T> {
public:
    /// Taps with `head` (any module mapping the features to [N, classes] logits).
    /// @throws ArgumentError when `head` is null.
    explicit AuxHead(std::unique_ptr<Module<T>> head) { head_ = &this->register_module("head", std::move(head)); }
    /// Taps with a classifier made by make_aux_classifier(options).
    /// @throws ArgumentError as make_aux_classifier().
    explicit AuxHead(const AuxHeadOptions& options) : AuxHead(make_aux_classifier<T>(options)) {}

    /// Returns `x`. Inside forward_with_aux() in training mode, also computes head(x) and adds it to that call's
    /// outputs; otherwise records nothing.
    /// @throws what the head throws on `x` when it runs (a ShapeError names the head's module path).
    Var<T> forward(const Var<T>& x) override {
        detail::AuxCollection<T>* collection = detail::current_aux_collection<T>();
        if (collection != nullptr && this->is_training() && head_ != nullptr) {
            const std::size_t i = collection->reserve(this->path());  // before the head: nested heads come after
            collection->out->aux[i] = (*head_)(x);
        }
        return x;
    }
    std::string type_name() const override { return "AuxHead"; }

    /// Whether the head is still attached.
    bool has_head() const { return head_ != nullptr; }
    /// Drops the head (its parameters leave the module tree); the tap then does nothing.
    void strip() {
        this->unregister_module("head");
        head_ = nullptr;
    }

private:
    Module<T>* head_ = nullptr;
};

/// An AuxHead with the classifier of `options`: `make_aux_head<float>(AuxHeadOptions(64, 10))`.
/// @throws ArgumentError as make_aux_classifier().
template <class T>
std::unique_ptr<AuxHead<T>> make_aux_head(const AuxHeadOptions& options) {
    return make<AuxHead<T>>(options);
}

/// Runs `model(x)` in `out`, reusing its storage (no heap allocation once `out` has held a call's outputs):
/// `out.main` is the model's output and `out.aux` the logits of the heads that ran during this call (none in eval
/// mode or for a model without heads). Calls may nest (a model whose forward calls forward_with_aux on a part);
/// each call sees only the heads run inside it and not inside a nested call.
/// @throws what model(x) throws (see Module::operator()); `out` is then unspecified.
template <class T>
void forward_with_aux(Module<T>& model, const Var<T>& x, Outputs<T>& out) {
    out.aux.clear();
    detail::AuxCollection<T> collection{&out, 0};
    {
        detail::AuxCollectionScope<T> scope(collection);
        out.main = model(x);
    }
    out.names.resize(collection.count);
}

/// Runs `model(x)` and returns its output with the logits of the auxiliary heads that ran during this call, like
/// torchvision's GoogLeNet in training mode: `auto out = forward_with_aux(model, x); loss(out.main, out.aux[0])`.
/// @throws what model(x) throws (see Module::operator()).
template <class T>
Outputs<T> forward_with_aux(Module<T>& model, const Var<T>& x) {
    Outputs<T> out;
    forward_with_aux(model, x, out);
    return out;
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
