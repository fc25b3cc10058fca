#pragma once
/// @file
/// GradientAverager: averages the parameter gradients over the ranks after backward, in large buckets (one
/// MPI_Iallreduce per bucket of about 25 MB, not one call per tensor), like PyTorch's DistributedDataParallel.
///
/// Each step, for each bucket in turn: the gradients of its parameters are packed into one contiguous buffer
/// and an in-place nonblocking sum (MPI_Iallreduce(MPI_IN_PLACE, ..., MPI_SUM)) is started, so packing bucket
/// k+1 overlaps the transfer of bucket k; then each bucket is waited for, scaled by 1/size and unpacked into
/// the gradients. Buckets hold the parameters in reverse registration order, the order in which backward
/// finishes them. Optionally (overlap_backward()), a bucket's allreduce starts during backward, as soon as the
/// tape reports all its gradients final (Tape::set_gradient_ready_hook), as PyTorch's DDP does.

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <vector>

#include "strata/autograd/parameter.hpp"
#include "strata/autograd/tape.hpp"
#include "strata/distributed/communicator.hpp"

namespace strata::distributed {

/// Default bucket capacity, PyTorch DDP's bucket_cap_mb = 25.
inline constexpr std::size_t default_bucket_bytes = std::size_t{25} << 20;

namespace detail {

/// Cuts parameters of the given sizes (in elements, listed in bucket-filling order) into buckets of at most
/// `bucket_bytes` bytes; a parameter larger than a bucket gets a bucket of its own. Returns, per bucket, the
/// positions (into `numels`) of its parameters. Zero-sized parameters are skipped.
inline std::vector<std::vector<std::size_t>> plan_buckets(const std::vector<index_t>& numels,
                                                          std::size_t element_bytes, std::size_t bucket_bytes) {
    std::vector<std::vector<std::size_t>> buckets;
    std::size_t used = 0;
    for (std::size_t i = 0; i < numels.size(); ++i) {
        const std::size_t bytes = static_cast<std::size_t>(numels[i]) * element_bytes;
        if (bytes == 0) continue;
        if (buckets.empty() || (used > 0 && used + bytes > bucket_bytes)) {
            buckets.emplace_back();
            used = 0;
        }
        buckets.back().push_back(i);
        used += bytes;
    }
    return buckets;
}

}  // namespace detail

/// Averages gradients across the ranks of a communicator, in buckets.
///
/// Build it once, after the model (its parameter list must be the same on every rank: the constructor checks
/// it collectively). Then, every step, after `loss.backward()` and before `optimizer.step()`, every rank calls
/// `average()`. Parameters with requires_grad false at construction are left out. With the local communicator
/// (or one rank) average() does nothing.
template <class T>
class GradientAverager {
public:
    /// An averager of the gradients of `params` over `comm`, in buckets of at most `bucket_bytes` bytes.
    /// Collective. Allocates the bucket buffers (one copy of all gradients) once.
    /// @throws ArgumentError on a null parameter, bucket_bytes == 0, a gradient whose shape differs from its
    ///         value's, or (on every rank) parameter lists that differ between the ranks.
    explicit GradientAverager(const std::vector<Parameter<T>*>& params, Communicator comm = Communicator::world(),
                              std::size_t bucket_bytes = default_bucket_bytes)
        : comm_(comm), bucket_bytes_(bucket_bytes) {
        check<ArgumentError>(bucket_bytes > 0, "GradientAverager: bucket_bytes must be positive");
        std::vector<Parameter<T>*> order;  // reverse registration order: the order backward finishes them
        for (std::size_t i = params.size(); i-- > 0;) {
            check<ArgumentError>(params[i] != nullptr, "GradientAverager: parameter ", i, " is null");
            check<ArgumentError>(params[i]->grad().shape() == params[i]->value.shape(), "GradientAverager: parameter ",
                                 i, " has a gradient of shape ", params[i]->grad().shape(), " but a value of shape ",
                                 params[i]->value.shape());
            if (params[i]->requires_grad) order.push_back(params[i]);
        }
        std::vector<index_t> numels;
        for (Parameter<T>* p : order) numels.push_back(p->numel());
        for (const auto& members : detail::plan_buckets(numels, sizeof(T), bucket_bytes)) {
            Bucket b;
            for (std::size_t k : members) {
                b.params.push_back(order[k]);
                b.numel += order[k]->numel();
            }
            b.buffer.resize(static_cast<std::size_t>(b.numel));
            buckets_.push_back(std::move(b));
        }
        requests_.assign(buckets_.size(), MPI_REQUEST_NULL);
        for (std::size_t b = 0; b < buckets_.size(); ++b)
            for (Parameter<T>* p : buckets_[b].params) bucket_of_.push_back({p->grad().data(), b});
        std::sort(bucket_of_.begin(), bucket_of_.end(),
                  [](const GradBucket& x, const GradBucket& y) { return std::less<const void*>()(x.grad, y.grad); });
        check_same_layout();
    }
    GradientAverager(const GradientAverager&) = delete;
    GradientAverager& operator=(const GradientAverager&) = delete;
    ~GradientAverager() {
        if (tape_) tape_->set_gradient_ready_hook(nullptr, nullptr);
    }

    /// Overlaps the averaging with backward on `tape` (nullptr: stop): from now on, each bucket's allreduce
    /// starts during `loss.backward()` as soon as the tape reports all of its gradients final, in bucket order
    /// on every rank; average() then finishes what is left and waits. The model's parameters must reach the
    /// tape through Tape::parameter() (modules do) and each step must run one backward per average() (no
    /// gradient accumulation over several backward calls). The results are the same as without overlap.
    /// Keep the tape alive while it is set, or set nullptr first; the averager's destructor unsets it.
    void overlap_backward(Tape* tape) {
        if (tape_) tape_->set_gradient_ready_hook(nullptr, nullptr);
        tape_ = tape;
        if (tape_ && comm_.size() > 1) tape_->set_gradient_ready_hook(&GradientAverager::on_ready, this);
        reset_step();
    }
    /// The tape overlap_backward() attached to, or nullptr.
    Tape* overlapped_tape() const { return tape_; }
    /// Buckets whose allreduce has started this step (with overlap, during backward; 0 after average()).
    std::size_t buckets_started() const { return started_; }

    /// Replaces every gradient by its mean over the ranks (sum / size). Collective: every rank must call it once
    /// per step. Accumulates the time spent into seconds().
    void average() {
        const auto start = std::chrono::steady_clock::now();
        const int n = comm_.size();
        if (n > 1) {
            // Without overlap no bucket has started; with it, start those whose gradients were never bound.
            for (std::size_t b = started_; b < buckets_.size(); ++b) start_bucket(b);
            started_ = buckets_.size();
            const T scale = T(1) / static_cast<T>(n);
            for (std::size_t b = 0; b < buckets_.size(); ++b) {
                Communicator::wait(requests_[b]);
                unpack(buckets_[b], scale);
            }
        }
        reset_step();
        last_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() +
                        overlap_seconds_;
        seconds_ += last_seconds_;
        overlap_seconds_ = 0;
        ++calls_;
    }

    /// Number of buckets.
    std::size_t bucket_count() const { return buckets_.size(); }
    /// The parameters of bucket `b`, in packing order (throws std::out_of_range on a bad b).
    const std::vector<Parameter<T>*>& bucket_parameters(std::size_t b) const { return buckets_.at(b).params; }
    /// Elements in bucket `b`.
    index_t bucket_numel(std::size_t b) const { return buckets_.at(b).numel; }
    /// The bucket capacity in bytes.
    std::size_t bucket_bytes() const { return bucket_bytes_; }
    /// The communicator.
    Communicator communicator() const { return comm_; }
    /// Total seconds spent averaging (packing, communication, unpacking: in average(), and with overlap also in
    /// the hook during backward) since construction or reset.
    double seconds() const { return seconds_; }
    /// Seconds of the last average() call.
    double last_seconds() const { return last_seconds_; }
    /// average() calls since construction or reset_timing().
    long calls() const { return calls_; }
    /// Resets seconds() and calls().
    void reset_timing() {
        seconds_ = 0;
        calls_ = 0;
    }

    /// For tests and custom reductions: copies bucket `b`'s gradients into its buffer and returns the buffer
    /// (bucket_numel(b) elements, writable until the next pack or average()).
    std::vector<T>& pack_bucket(std::size_t b) {
        pack(buckets_.at(b));
        return buckets_[b].buffer;
    }
    /// For tests: writes `scale` times bucket `b`'s buffer back into its parameters' gradients.
    void unpack_bucket(std::size_t b, T scale) { unpack(buckets_.at(b), scale); }

private:
    struct Bucket {
        std::vector<Parameter<T>*> params;
        index_t numel = 0;
        std::vector<T> buffer;
        std::size_t ready = 0;  // gradients reported final this step (overlap)
    };
    struct GradBucket {
        const void* grad;
        std::size_t bucket;
    };

    void start_bucket(std::size_t b) {
        pack(buckets_[b]);
        requests_[b] = comm_.start_allreduce_sum(buckets_[b].buffer.data(), buckets_[b].numel);
    }
    /// The tape's hook: counts the gradient in its bucket and starts, in bucket order, every bucket that is
    /// complete; then lets MPI progress the started ones.
    static void on_ready(void* self_ptr, const void* grad) {
        auto& self = *static_cast<GradientAverager*>(self_ptr);
        const auto start = std::chrono::steady_clock::now();
        const auto it = std::lower_bound(
            self.bucket_of_.begin(), self.bucket_of_.end(), grad,
            [](const GradBucket& x, const void* g) { return std::less<const void*>()(x.grad, g); });
        if (it == self.bucket_of_.end() || it->grad != grad) return;  // not averaged (requires_grad false)
        ++self.buckets_[it->bucket].ready;
        while (self.started_ < self.buckets_.size() &&
               self.buckets_[self.started_].ready == self.buckets_[self.started_].params.size())
            self.start_bucket(self.started_++);
        for (std::size_t b = 0; b < self.started_; ++b) Communicator::test(self.requests_[b]);
        self.overlap_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    void reset_step() {
        for (Bucket& b : buckets_) b.ready = 0;
        started_ = 0;
    }

    static void pack(Bucket& b) {
        T* dst = b.buffer.data();
        for (Parameter<T>* p : b.params) {
            std::memcpy(dst, p->grad().data(), sizeof(T) * static_cast<std::size_t>(p->numel()));
            dst += p->numel();
        }
    }
    static void unpack(Bucket& b, T scale) {
        const T* src = b.buffer.data();
        for (Parameter<T>* p : b.params) {
            T* g = p->grad().data();
            for (index_t i = 0; i < p->numel(); ++i) g[i] = src[i] * scale;
            src += p->numel();
        }
    }

    /// Every rank must have the same buckets (else the allreduces mismatch and hang or corrupt).
    void check_same_layout() const {
        if (!comm_.uses_mpi()) return;
        index_t total = 0;
        for (const Bucket& b : buckets_) total += b.numel;
        std::int64_t local[2] = {static_cast<std::int64_t>(buckets_.size()), total};
        std::int64_t lo[2] = {local[0], local[1]}, hi[2] = {local[0], local[1]};
        comm_.allreduce_min(lo, 2);
        comm_.allreduce_max(hi, 2);
        check<ArgumentError>(lo[0] == hi[0] && lo[1] == hi[1], "GradientAverager: the ranks' parameter lists "
                             "differ (between ", lo[0], " and ", hi[0], " buckets, ", lo[1], " and ", hi[1],
                             " gradient elements); rank ", comm_.rank(), " has ", local[0], " buckets with ",
                             local[1], " elements");
    }

    Communicator comm_;
    std::size_t bucket_bytes_;
    std::vector<Bucket> buckets_;
    std::vector<MPI_Request> requests_;
    std::vector<GradBucket> bucket_of_;  // sorted by gradient address
    Tape* tape_ = nullptr;
    std::size_t started_ = 0;  // buckets whose allreduce has started this step
    double overlap_seconds_ = 0;
    double seconds_ = 0;
    double last_seconds_ = 0;
    long calls_ = 0;
};

}  // namespace strata::distributed
