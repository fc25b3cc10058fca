#pragma once
/// @file
/// The reverse-mode autodiff tape (Stan-like): Tape records one node per tensor op in a 64-byte aligned
/// arena; Var<T> is a cheap handle to a value and its gradient on a tape; backward() is a reverse loop over
/// the recorded nodes. Gradients accumulate, so a value used twice receives the sum of both uses.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "strata/autograd/arena.hpp"
#include "strata/autograd/parameter.hpp"
#include "strata/core/error.hpp"
#include "strata/core/tensor.hpp"

namespace strata {

class Tape;
template <class T>
class Var;

namespace detail {

/// Blocks template argument deduction (C++20's std::type_identity).
template <class T>
struct identity {
    using type = T;
};
template <class T>
using identity_t = typename identity<T>::type;

/// False for every T: lets a static_assert in a template fire only when the template is used.
template <class...>
inline constexpr bool always_false = false;

/// This thread's gradient mode (like torch's thread-local GradMode): off inside a default NoGradGuard, and then
/// no tape records on this thread.
inline bool& thread_grad_mode() {
    thread_local bool enabled = true;
    return enabled;
}

/// Type-erased storage of one value on the tape (lives in the arena).
struct VarSlot {
    void* value;
    void* grad;  ///< null until a gradient reaches the value
    Shape shape;
    bool requires_grad;
    bool is_double;  ///< element type: double (true) or float (false)
    /// The Parameter<T> whose gradient `grad` is (Tape::parameter), else null; its gradient may be cleared
    /// (zero_grad() deferred), and then the first write overwrites it or the first read zero-fills it.
    const void* parameter = nullptr;
};

/// Index of the first NaN or infinity among `n` elements at `p` (of float or double), or -1.
inline index_t first_non_finite(const void* p, index_t n, bool is_double) {
    for (index_t i = 0; i < n; ++i) {
        const double v = is_double ? static_cast<const double*>(p)[i] : static_cast<const float*>(p)[i];
        if (!std::isfinite(v)) return i;
    }
    return -1;
}

/// One recorded op: knows its output slot and how to push the output's gradient to its inputs.
struct Node {
    VarSlot* output;
    const char* name;
    virtual void backward() = 0;

protected:
    Node(VarSlot* out, const char* op_name) : output(out), name(op_name) {}
    ~Node() = default;  // never run: nodes die with an arena rewind
};

/// Receives the tape's events while a profiler is attached (autograd/profiler.hpp's Profiler).
class ProfileSink {
public:
    /// Node `index` (recording order since the last rewind) was recorded.
    virtual void recorded(std::size_t index, const Node& node) = 0;
    /// Node `index`'s backward ran for `seconds`.
    virtual void backward_ran(std::size_t index, const Node& node, double seconds) = 0;
    /// The tape was rewound (a new step starts).
    virtual void rewound() = 0;

protected:
    ~ProfileSink() = default;
};

template <class F>
struct LambdaNode final : Node {
    LambdaNode(VarSlot* out, const char* op_name, F&& f) : Node(out, op_name), fn(std::move(f)) {}
    void backward() override { fn(); }
    F fn;
};

}  // namespace detail

/// Records tensor ops for reverse-mode differentiation.
///
/// Typical step: `tape.rewind(); auto x = tape.constant(batch); auto loss = f(model, x); loss.backward();`.
/// Every Var made on the tape is valid until the next rewind(); using one afterwards throws LifetimeError.
/// A Tape is not thread-safe: use one per thread.
class Tape {
public:
    /// A tape whose arena starts with `arena_bytes` (it grows as needed and keeps its size across rewinds).
    explicit Tape(std::size_t arena_bytes = std::size_t{1} << 20) : arena_(arena_bytes) { nodes_.reserve(1024); }
    Tape(const Tape&) = delete;
    Tape& operator=(const Tape&) = delete;

    /// A value that needs no gradient, viewing `t` without copying it (t must outlive the step).
    template <class T>
    Var<T> constant(const Tensor<T>& t) {
        return make_var<T>(const_cast<T*>(t.data()), t.shape(), false);
    }
    /// A value that needs no gradient, viewing `t` without copying it (the memory must outlive the step).
    template <class T>
    Var<std::remove_const_t<T>> constant(TensorView<T> t) {
        using U = std::remove_const_t<T>;
        return make_var<U>(const_cast<U*>(t.data()), t.shape(), false);
    }
    /// A temporary tensor (`tape.constant(Tensor<float>(...))`, a function's return value): copied into the
    /// arena, since the temporary dies before the step ends. Same as constant_copy().
    template <class T>
    Var<T> constant(Tensor<T>&& t) {
        return constant_copy<T>(t.view());
    }
    /// A value that needs no gradient, copied into the arena.
    template <class T>
    Var<T> constant_copy(TensorView<const detail::identity_t<T>> t) {
        Var<T> v = make_output<T>(t.shape(), false);
        std::memcpy(v.mutable_value().data(), t.data(), sizeof(T) * static_cast<std::size_t>(t.numel()));
        return v;
    }
    /// A leaf value that receives a gradient, copied into the arena; read `grad()` after backward.
    template <class T>
    Var<T> variable(TensorView<const detail::identity_t<T>> t) {
        Var<T> v = make_output<T>(t.shape(), true);
        std::memcpy(v.mutable_value().data(), t.data(), sizeof(T) * static_cast<std::size_t>(t.numel()));
        return v;
    }
    template <class T>
    Var<T> variable(const Tensor<T>& t) {
        return variable<T>(t.view());
    }
    /// Refused at compile time: parameter() binds a Parameter<T>, not a Tensor.
    template <class T>
    Var<T> parameter(const Tensor<T>&) {
        static_assert(detail::always_false<T>,
                      "tape.parameter() takes a Parameter<T> (a module's registered parameter, whose gradient it "
                      "accumulates); for a tensor that needs a gradient use tape.variable(t), for one that does "
                      "not use tape.constant(t)");
        return {};
    }
    /// A value that views a parameter; backward accumulates into `p.grad()` directly (its first write
    /// overwrites a gradient that zero_grad() cleared).
    /// @throws ShapeError when p.grad() and p.value have different shapes.
    template <class T>
    Var<T> parameter(Parameter<T>& p) {
        check<ShapeError>(p.grad_.shape() == p.value.shape(), "parameter gradient of shape ", p.grad_.shape(),
                          " does not match its value's shape ", p.value.shape());
        // Const access: binding reads nothing and writes nothing, so it must not count as a change of the value
        // (Tensor::version(), which keeps ConvWeightCache's packed weights valid) and must not write the
        // tensors (several threads may serve from one model, each with its own tape). Nor does it settle a
        // cleared gradient: that is left to backward's first write.
        T* value = const_cast<T*>(std::as_const(p.value).data());
        T* grad = const_cast<T*>(std::as_const(p.grad_).data());
        auto* slot = new (arena_.allocate(sizeof(detail::VarSlot)))
            detail::VarSlot{value, p.requires_grad ? grad : nullptr, p.value.shape(), p.requires_grad,
                            std::is_same_v<T, double>, p.requires_grad ? &p : nullptr};
        if (ready_hook_ && p.requires_grad && grad_enabled()) mark_parameter(grad, &p, &settle_parameter<T>);
        return Var<T>(this, slot, generation_);
    }

    /// The gradient-ready hook: a function called during backward with `context` and a parameter's gradient
    /// memory (`Parameter::grad.data()`) as soon as that gradient is final, i.e. right after the last node that
    /// can accumulate into it has run (every node recorded after the parameter's first `parameter(p)` call of the
    /// step), and at the latest when backward ends. Called once per parameter bound with parameter() since the
    /// last rewind (with requires_grad and gradients enabled), in reverse order of first binding. Lets
    /// distributed::GradientAverager start a bucket's allreduce while backward goes on. nullptr switches it
    /// off (the default; then parameter() records nothing and backward is unchanged).
    using GradientReadyHook = void (*)(void* context, const void* grad);
    void set_gradient_ready_hook(GradientReadyHook hook, void* context) {
        ready_hook_ = hook;
        ready_context_ = context;
        ready_marks_.clear();
    }

    /// For op authors: a new value of `shape` with uninitialised arena memory.
    template <class T>
    Var<T> make_output(const Shape& shape, bool requires_grad) {
        T* data = arena_.allocate_array<T>(static_cast<std::size_t>(shape.numel()));
        return make_var<T>(data, shape, requires_grad);
    }
    /// For op authors: a new value viewing `x`'s value memory with another shape of the same size (reshape).
    /// @throws ShapeError when `shape` has another element count than `x`.
    /// @throws LifetimeError when `x` is undefined or its tape was rewound since it was made.
    template <class T>
    Var<T> alias(const Var<T>& x, const Shape& shape, bool requires_grad) {
        check<ShapeError>(shape.numel() == x.numel(), "alias: cannot view shape ", x.shape(), " as ", shape);
        return make_var<T>(const_cast<T*>(x.value().data()), shape, requires_grad);
    }
    /// For op authors: `n` uninitialised T in the arena (buffers saved for backward), valid until rewind().
    template <class T>
    T* buffer(index_t n) {
        return arena_.allocate_array<T>(static_cast<std::size_t>(n));
    }

    /// For op authors: while a ScratchScope lives, buffer() hands out scratch that its destructor returns to the
    /// arena, so memory an op needs only while its forward (or its backward) runs is not held for the rest of
    /// the step. Inside the scope take nothing that must outlive it: no outputs, no buffers saved for backward,
    /// no first call of Var::grad(), no record(). Scopes nest (last in, first out).
    class ScratchScope {
    public:
        explicit ScratchScope(Tape& tape) : tape_(tape), start_(tape.arena_.position()) {}
        ScratchScope(const ScratchScope&) = delete;
        ScratchScope& operator=(const ScratchScope&) = delete;
        ~ScratchScope() { tape_.arena_.rewind_to(start_); }

    private:
        Tape& tape_;
        Arena::Position start_;
    };

    /// True when an op over these inputs must record a node: recording is on and some input needs a gradient.
    template <class... V>
    bool needs_grad(const V&... inputs) const {
        return grad_enabled() && (false || ... || inputs.requires_grad());
    }

    /// For op authors: records the backward of the op that produced `output`. `backward` must be trivially
    /// destructible (capture Vars, pointers and numbers by value): the arena never runs destructors.
    /// @throws NumericError in anomaly mode (set_detect_anomaly) when `output` holds a NaN or infinity, naming the op.
    template <class T, class F>
    void record(const char* name, const Var<T>& output, F&& backward) {
        using Fn = std::decay_t<F>;
        static_assert(std::is_trivially_destructible_v<Fn>,
                      "a backward lambda may capture only trivially destructible things (Vars, pointers, numbers)");
        if (detect_anomaly_) check_forward(name, output.slot());
        void* mem = arena_.allocate(sizeof(detail::LambdaNode<Fn>));
        nodes_.push_back(new (mem) detail::LambdaNode<Fn>(output.slot(), name, Fn(std::forward<F>(backward))));
        if (profiler_ != nullptr) profiler_->recorded(nodes_.size() - 1, *nodes_.back());
    }

    /// Runs backward from the scalar `root` (its gradient seeded with 1).
    /// @throws ShapeError when `root` has more than one element.
    /// @throws ArgumentError when `root` does not require a gradient.
    /// @throws LifetimeError when backward already ran since the last rewind(), or `root` is from an earlier step.
    /// @throws NumericError in anomaly mode, naming the first op whose backward wrote a NaN or infinity.
    template <class T>
    void backward(const Var<T>& root);
    /// Runs backward from `root` with its gradient seeded by `seed` (same shape as root).
    /// @throws ShapeError when `seed` has another shape than `root`, naming both.
    /// @throws ArgumentError when `root` does not require a gradient.
    /// @throws LifetimeError when backward already ran since the last rewind(), or `root` is from an earlier step.
    /// @throws NumericError in anomaly mode, naming the first op whose backward wrote a NaN or infinity.
    template <class T>
    void backward(const Var<T>& root, TensorView<const detail::identity_t<T>> seed);

    /// Forgets every recorded node and value; the arena's memory is kept for the next step.
    void rewind() {
        arena_.rewind();
        nodes_.clear();
        ready_marks_.clear();
        ++generation_;
        backward_done_ = false;
        if (profiler_ != nullptr) profiler_->rewound();
    }

    /// For profilers (autograd/profiler.hpp): attaches `sink` to receive this tape's events, or detaches with
    /// nullptr. One sink at a time.
    void set_profile_sink(detail::ProfileSink* sink) { profiler_ = sink; }
    detail::ProfileSink* profile_sink() const { return profiler_; }

    /// Whether ops record nodes on this tape: false inside a NoGradGuard of this tape, and inside a default
    /// NoGradGuard on this thread.
    bool grad_enabled() const { return grad_enabled_ && detail::thread_grad_mode(); }
    /// Switches recording on this tape (this tape's own setting; a default NoGradGuard overrides it on its
    /// thread).
    void set_grad_enabled(bool enabled) { grad_enabled_ = enabled; }

    /// Anomaly detection (like torch.autograd.detect_anomaly): when on, every recorded op's output and every
    /// gradient an op's backward writes are checked, and the first NaN or infinity throws NumericError naming
    /// the op. It costs a pass over each value and gradient; leave it off for speed.
    void set_detect_anomaly(bool on) { detect_anomaly_ = on; }
    bool detect_anomaly() const { return detect_anomaly_; }

    /// Number of nodes recorded since the last rewind.
    std::size_t node_count() const { return nodes_.size(); }
    /// Name of recorded node `i` (in recording order).
    /// @throws std::out_of_range when i >= node_count().
    const char* node_name(std::size_t i) const { return nodes_.at(i)->name; }
    /// Incremented by every rewind; Vars remember the generation they were made in.
    std::uint64_t generation() const { return generation_; }
    /// The arena, for inspection (bytes in use, blocks held).
    const Arena& arena() const { return arena_; }

private:
    template <class T>
    friend class Var;
    friend class NoGradGuard;

    template <class T>
    Var<T> make_var(T* data, const Shape& shape, bool requires_grad) {
        auto* slot = new (arena_.allocate(sizeof(detail::VarSlot)))
            detail::VarSlot{data, nullptr, shape, requires_grad, std::is_same_v<T, double>};
        return Var<T>(this, slot, generation_);
    }

    void run_backward() {
        check<LifetimeError>(!backward_done_,
                             "backward() was already run on this tape; call rewind() before the next step");
        backward_done_ = true;
        if (detect_anomaly_) return run_backward_checked();
        std::size_t marks = ready_marks_.size();
        fire_ready(marks, nodes_.size());
        for (std::size_t i = nodes_.size(); i-- > 0;) {
            detail::Node* node = nodes_[i];
            if (node->output->grad != nullptr) {
                if (profiler_ == nullptr) node->backward();
                else run_timed(i, node);
            }
            fire_ready(marks, i);
        }
    }

    /// The first parameter() binding of a parameter this step: gradients accumulate only in nodes recorded
    /// after it. A parameter bound again later (weight sharing, a module called twice) keeps its first mark.
    void mark_parameter(const void* grad, const void* parameter, void (*settle)(const void*)) {
        for (const ReadyMark& m : ready_marks_)
            if (m.grad == grad) return;
        ready_marks_.push_back(ReadyMark{nodes_.size(), grad, parameter, settle});
    }
    /// Zero-fills the gradient of the Parameter<T> at `parameter` if zero_grad() cleared it and nothing wrote it.
    template <class T>
    static void settle_parameter(const void* parameter) {
        static_cast<const Parameter<T>*>(parameter)->settle();
    }
    /// Calls the hook for the marks (taken from the back, `marks` of them left) whose readers all have index
    /// >= `done`, i.e. have run.
    void fire_ready(std::size_t& marks, std::size_t done) {
        while (marks > 0 && ready_marks_[marks - 1].first_reader >= done) {
            --marks;
            const ReadyMark& m = ready_marks_[marks];
            m.settle(m.parameter);  // a bound parameter no gradient reached: its zeros are final
            ready_hook_(ready_context_, m.grad);
        }
    }

    void check_forward(const char* name, const detail::VarSlot* out) const {
        const index_t bad = detail::first_non_finite(out->value, out->shape.numel(), out->is_double);
        if (bad >= 0)
            throw NumericError(detail::concat("anomaly: the forward of op '", name, "' (node ", nodes_.size(),
                                              ") produced a non-finite value at element ", bad,
                                              " of its output of shape ", out->shape));
    }

    /// Runs node `i`'s backward and reports its time to the attached profiler.
    void run_timed(std::size_t i, detail::Node* node) {
        using clock = std::chrono::steady_clock;
        const auto start = clock::now();
        node->backward();
        profiler_->backward_ran(i, *node, std::chrono::duration<double>(clock::now() - start).count());
    }

    /// The backward loop of anomaly mode: Var::grad() reports every gradient buffer an op touches, and each is
    /// checked after the op's backward.
    void run_backward_checked() {
        struct Reset {
            Tape& t;
            ~Reset() { t.in_backward_ = false; }
        } reset{*this};
        in_backward_ = true;
        std::size_t marks = ready_marks_.size();
        fire_ready(marks, nodes_.size());
        for (std::size_t i = nodes_.size(); i-- > 0;) {
            detail::Node* node = nodes_[i];
            if (node->output->grad != nullptr) check_backward(node, i);
            fire_ready(marks, i);
        }
    }
    /// Anomaly mode: runs node `i`'s backward and checks every gradient it wrote.
    void check_backward(detail::Node* node, std::size_t i) {
        touched_.clear();
        node->backward();
        for (const detail::VarSlot* s : touched_) {
            if (s == node->output || s->grad == nullptr) continue;
            const index_t bad = detail::first_non_finite(s->grad, s->shape.numel(), s->is_double);
            if (bad >= 0)
                throw NumericError(detail::concat("anomaly: the backward of op '", node->name, "' (node ", i, " of ",
                                                  nodes_.size(), ") wrote a non-finite gradient at element ", bad,
                                                  " of an input of shape ", s->shape));
        }
    }

    Arena arena_;
    std::vector<detail::Node*> nodes_;
    std::uint64_t generation_ = 1;
    bool grad_enabled_ = true;
    bool backward_done_ = false;
    bool detect_anomaly_ = false;
    bool in_backward_ = false;
    std::vector<detail::VarSlot*> touched_;
    struct ReadyMark {
        std::size_t first_reader;  // index of the first node recorded after the parameter's first binding
        const void* grad;
        const void* parameter;               // the Parameter<T> owning grad
        void (*settle)(const void* parameter);  // Tape::settle_parameter<T>
    };
    GradientReadyHook ready_hook_ = nullptr;
    void* ready_context_ = nullptr;
    std::vector<ReadyMark> ready_marks_;  // in binding order, so first_reader is non-decreasing
    detail::ProfileSink* profiler_ = nullptr;
};

/// Turns recording off for its lifetime (evaluation, inference): ops still compute values but record no nodes
/// and their outputs need no gradient, like torch::NoGradGuard.
///
/// `NoGradGuard no_grad;` covers every tape used by the current thread (a thread-local mode, as in LibTorch;
/// other threads are unaffected); `NoGradGuard no_grad(tape);` covers one tape, whichever thread uses it.
/// Guards nest and restore the previous setting.
class NoGradGuard {
public:
    /// Recording off on every tape, on this thread.
    NoGradGuard() : tape_(nullptr), previous_(detail::thread_grad_mode()) { detail::thread_grad_mode() = false; }
    /// Recording off on `tape`.
    explicit NoGradGuard(Tape& tape) : tape_(&tape), previous_(tape.grad_enabled_) { tape.set_grad_enabled(false); }
    ~NoGradGuard() {
        if (tape_ != nullptr)
            tape_->set_grad_enabled(previous_);
        else
            detail::thread_grad_mode() = previous_;
    }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    Tape* tape_;
    bool previous_;
};

/// A cheap handle (three words, trivially copyable) to a value and its gradient on a Tape.
template <class T>
class Var {
public:
    using value_type = T;

    /// A null handle; defined() is false.
    Var() = default;

    bool defined() const { return slot_ != nullptr; }
    /// Whether the handle is defined and its tape has not been rewound since it was made.
    bool is_alive() const { return slot_ != nullptr && generation_ == tape_->generation_; }
    /// The tape this value lives on.
    /// @throws LifetimeError when the handle is undefined or its tape was rewound since it was made.
    Tape& tape() const {
        check_alive();
        return *tape_;
    }
    /// @throws LifetimeError when the handle is undefined or its tape was rewound since it was made.
    const Shape& shape() const {
        check_alive();
        return slot_->shape;
    }
    /// @throws LifetimeError when the handle is undefined or its tape was rewound since it was made.
    index_t numel() const { return shape().numel(); }
    /// Dimension `i` (negative counts from the end).
    /// @throws ArgumentError when `i` is outside [-rank, rank).
    /// @throws LifetimeError when the handle is undefined or its tape was rewound since it was made.
    index_t dim(int i) const { return shape()[i]; }
    /// Whether backward computes a gradient for this value.
    /// @throws LifetimeError when the handle is undefined or its tape was rewound since it was made.
    bool requires_grad() const {
        check_alive();
        return slot_->requires_grad;
    }

    /// The value.
    /// @throws LifetimeError when the handle is undefined or its tape was rewound since it was made.
    TensorView<const T> value() const {
        check_alive();
        return {static_cast<const T*>(slot_->value), slot_->shape};
    }
    /// For op authors: the value, writable (only while computing it).
    /// @throws LifetimeError when the handle is undefined or its tape was rewound since it was made.
    TensorView<T> mutable_value() const {
        check_alive();
        return {static_cast<T*>(slot_->value), slot_->shape};
    }
    /// Whether a gradient has reached this value (its gradient buffer exists).
    /// @throws LifetimeError when the handle is undefined or its tape was rewound since it was made.
    bool has_grad() const {
        check_alive();
        return slot_->grad != nullptr;
    }
    /// The gradient, zero-initialised on first access; throws ArgumentError if the value needs none.
    /// @throws ArgumentError when the value does not require a gradient.
    /// @throws LifetimeError when the handle is undefined or its tape was rewound since it was made.
    TensorView<T> grad() const {
        check_alive();
        check<ArgumentError>(slot_->requires_grad, "grad() of a value that does not require a gradient (shape ",
                             slot_->shape, ")");
        if (slot_->grad == nullptr) {
            const auto n = static_cast<std::size_t>(slot_->shape.numel());
            T* g = tape_->arena_.template allocate_array<T>(n);
            std::memset(static_cast<void*>(g), 0, n * sizeof(T));
            slot_->grad = g;
        } else if (slot_->parameter != nullptr) {
            static_cast<const Parameter<T>*>(slot_->parameter)->settle();  // zero-fills a cleared gradient
        }
        if (tape_->in_backward_) tape_->touched_.push_back(slot_);
        return {static_cast<T*>(slot_->grad), slot_->shape};
    }

    /// For op authors whose backward writes every element of this gradient: when no gradient has reached this
    /// value yet (or it is a parameter's gradient that zero_grad() cleared and nothing wrote since), returns a
    /// buffer of undefined contents and sets `fresh` (the caller must then assign every element instead of
    /// adding to it, which saves zeroing the buffer and reading the zeros back); otherwise returns grad() and
    /// clears `fresh`. Fan-out stays correct: whichever op reaches the value first writes, the others add.
    /// @throws what grad() throws.
    TensorView<T> grad_for_write(bool& fresh) const {
        check_alive();
        check<ArgumentError>(slot_->requires_grad, "grad() of a value that does not require a gradient (shape ",
                             slot_->shape, ")");
        fresh = slot_->grad == nullptr;
        if (fresh)
            slot_->grad = tape_->arena_.template allocate_array<T>(static_cast<std::size_t>(slot_->shape.numel()));
        else if (slot_->parameter != nullptr)
            fresh = static_cast<const Parameter<T>*>(slot_->parameter)->take_cleared();
        if (tape_->in_backward_) tape_->touched_.push_back(slot_);
        return {static_cast<T*>(slot_->grad), slot_->shape};
    }

    /// The single element of a one-element value; throws ShapeError otherwise.
    /// @throws ShapeError when the value has more than one element.
    /// @throws LifetimeError when the handle is undefined or its tape was rewound since it was made.
    T item() const {
        check<ShapeError>(numel() == 1, "item() of a value with shape ", shape(), " (needs exactly one element)");
        return value()[0];
    }
    /// A copy of the value that outlives the tape step.
    /// @throws LifetimeError when the handle is undefined or its tape was rewound since it was made.
    Tensor<T> to_tensor() const { return Tensor<T>::from(value()); }

    /// Backward from this scalar value.
    /// @throws what Tape::backward(root) throws.
    void backward() const { tape().backward(*this); }

    /// For op authors: the type-erased slot.
    detail::VarSlot* slot() const { return slot_; }

private:
    friend class Tape;
    Var(Tape* tape, detail::VarSlot* slot, std::uint64_t generation)
        : tape_(tape), slot_(slot), generation_(generation) {}

    void check_alive() const {
        if (slot_ == nullptr) throw LifetimeError("use of an undefined Var (default-constructed)");
#ifndef STRATA_NO_LIFETIME_CHECKS
        if (generation_ != tape_->generation_)
            throw LifetimeError(detail::concat("use of a Var made in tape step ", generation_,
                                               " after the tape was rewound (now step ", tape_->generation_,
                                               "); copy values out with to_tensor() before rewind()"));
#endif
    }

    Tape* tape_ = nullptr;
    detail::VarSlot* slot_ = nullptr;
    std::uint64_t generation_ = 0;
};

template <class T>
void Tape::backward(const Var<T>& root) {
    check<ShapeError>(root.numel() == 1, "backward() needs a scalar (one-element) root, got shape ",
                      root.shape(), "; pass a seed gradient for non-scalar roots");
    check<ArgumentError>(root.requires_grad(),
                         "backward() of a value that does not require a gradient (no parameter or variable "
                         "reaches it, or it was computed under NoGradGuard)");
    root.grad()[0] += T(1);
    run_backward();
}

template <class T>
void Tape::backward(const Var<T>& root, TensorView<const detail::identity_t<T>> seed) {
    check_shape(seed.shape(), root.shape(), "backward seed");
    check<ArgumentError>(root.requires_grad(), "backward() of a value that does not require a gradient");
    root.grad().array() += seed.array();
    run_backward();
}

/// Throws ArgumentError unless `a` and `b` live on the same tape.
/// @throws ArgumentError when the tapes differ (LifetimeError when either Var is dead).
template <class T>
inline void check_same_tape(const Var<T>& a, const Var<T>& b, const char* op) {
    check<ArgumentError>(&a.tape() == &b.tape(), op, ": operands live on different tapes");
}

}  // namespace strata
