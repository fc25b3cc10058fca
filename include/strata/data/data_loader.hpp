#pragma once
/// @file
/// DataLoader: iterates a Dataset in batches, with seeded per-epoch shuffling, seeded per-sample augmentation,
/// and background prefetching of the next batch on a std::thread.
///
/// Every batch is a pure function of (options, epoch, batch number): the epoch's order is a Fisher-Yates
/// shuffle by a Generator seeded from (seed, epoch), and batch b's augmentation draws from a Generator seeded
/// from (seed, epoch, b). So the same seed gives the same batches with or without prefetching, and a run
/// resumed with set_state() continues with exactly the batches the original run would have seen.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <numeric>
#include <thread>
#include <utility>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/random.hpp"
#include "strata/core/tensor.hpp"
#include "strata/data/augment.hpp"
#include "strata/data/dataset.hpp"

namespace strata::data {

/// One batch: B = images.dim(0) samples (B < batch_size only for the last batch when drop_last is off).
struct Batch {
    /// Images [B, C, H, W] (augmented if augmentation is on).
    Tensor<float> images;
    /// The B labels.
    std::vector<index_t> labels;
    /// The B dataset indices the samples came from.
    std::vector<index_t> indices;
    /// The epoch this batch belongs to.
    index_t epoch = 0;
    /// The batch's number within its epoch, from 0.
    index_t index = 0;

    /// Number of samples B.
    index_t size() const { return static_cast<index_t>(labels.size()); }
};

/// Where a DataLoader is: next() returns batch `batch` of epoch `epoch` (or ends the epoch if `batch` equals
/// num_batches()). Save it with a checkpoint and restore it with set_state() to resume at the same batch.
struct LoaderState {
    index_t epoch = 0;
    index_t batch = 0;

    friend bool operator==(const LoaderState& a, const LoaderState& b) {
        return a.epoch == b.epoch && a.batch == b.batch;
    }
    friend bool operator!=(const LoaderState& a, const LoaderState& b) { return !(a == b); }
};

/// DataLoader options: public fields (`opt.batch_size = 128;`, aggregate initialisation) and chained setters
/// (`LoaderOptions().set_batch_size(128).set_seed(1)`). The setters carry a `set_` prefix because C++ cannot
/// give a field and a function one name (LibTorch's `DataLoaderOptions` has functions only).
struct LoaderOptions {
    /// Samples per batch (> 0).
    index_t batch_size = 64;
    /// Shuffle the order every epoch (seeded by `seed` and the epoch); otherwise dataset order.
    bool shuffle = true;
    /// Drop the last batch of an epoch when it has fewer than batch_size samples.
    bool drop_last = false;
    /// Seed of the shuffling and augmentation.
    std::uint64_t seed = 0;
    /// Per-sample random augmentation (off by default).
    Augmentation augment;
    /// Prepare the next batch on a background thread while the caller works on the current one.
    bool prefetch = true;
    /// Optional extra step applied to every batch after augmentation, on the loader thread when prefetching.
    /// It must be safe to run concurrently with the caller; an exception it throws is rethrown by next().
    std::function<void(Batch&)> transform;

    /// Sets batch_size; chainable.
    LoaderOptions& set_batch_size(index_t v) {
        batch_size = v;
        return *this;
    }
    /// Sets shuffle; chainable.
    LoaderOptions& set_shuffle(bool v) {
        shuffle = v;
        return *this;
    }
    /// Sets drop_last; chainable.
    LoaderOptions& set_drop_last(bool v) {
        drop_last = v;
        return *this;
    }
    /// Sets seed; chainable.
    LoaderOptions& set_seed(std::uint64_t v) {
        seed = v;
        return *this;
    }
    /// Sets augment; chainable.
    LoaderOptions& set_augment(const Augmentation& v) {
        augment = v;
        return *this;
    }
    /// Sets prefetch; chainable.
    LoaderOptions& set_prefetch(bool v) {
        prefetch = v;
        return *this;
    }
    /// Sets transform; chainable.
    LoaderOptions& set_transform(std::function<void(Batch&)> v) {
        transform = std::move(v);
        return *this;
    }
};

namespace detail {

/// splitmix64's finaliser: a bijective 64-bit mix.
inline std::uint64_t mix64(std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// The seed of one random stream (`stream` 1: shuffle, 2: augmentation) of one epoch and batch.
inline std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream, index_t epoch, index_t batch = 0) {
    return mix64(mix64(mix64(seed ^ mix64(stream)) + static_cast<std::uint64_t>(epoch)) +
                 static_cast<std::uint64_t>(batch));
}

/// The shuffled order of one epoch, computed once per epoch by whichever thread produces batches.
struct EpochOrder {
    index_t epoch = -1;
    std::vector<index_t> order;
};

}  // namespace detail

/// Iterates a Dataset in batches; see the file comment for the determinism guarantees.
///
/// Typical use:
/// ```
/// Augmentation aug;
/// aug.horizontal_flip = true;
/// DataLoader loader(train, LoaderOptions().set_batch_size(128).set_augment(aug));
/// Batch b;
/// for (int e = 0; e < epochs; ++e) { loader.set_epoch(e); while (loader.next(b)) step(b); }
/// ```
/// The Dataset must outlive the loader and must not change while the loader exists (the loader thread reads
/// it, and the padding fill is taken from its normalisation at construction). Use one loader from one thread
/// at a time.
class DataLoader {
public:
    /// A loader over `data`. Throws ArgumentError on batch_size <= 0 or bad augmentation options.
    /// @throws ArgumentError when batch_size <= 0 or crop_padding / max_translation is negative, naming it.
    explicit DataLoader(const Dataset& data, LoaderOptions options = {})
        : data_(&data), options_(std::move(options)), fill_(data.zero_value()) {
        check<ArgumentError>(options_.batch_size > 0, "DataLoader: batch_size must be positive, got ",
                             options_.batch_size);
        validate(options_.augment);
        const index_t n = data.size(), b = options_.batch_size;
        num_batches_ = options_.drop_last ? n / b : (n + b - 1) / b;
    }

    DataLoader(const DataLoader&) = delete;
    DataLoader& operator=(const DataLoader&) = delete;

    /// Stops and joins the loader thread (after it finishes the batch in progress).
    ~DataLoader() {
        if (!worker_.joinable()) return;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        worker_.join();
    }

    /// Batches per epoch: ceil(N / batch_size), or floor with drop_last.
    index_t num_batches() const { return num_batches_; }
    /// The options.
    const LoaderOptions& options() const { return options_; }
    /// The dataset.
    const Dataset& dataset() const { return *data_; }
    /// Where the next call to next() continues.
    LoaderState state() const { return state_; }
    /// Total seconds next() spent waiting for batches (for the loader thread, or building them itself when not
    /// prefetching). Near zero when prefetching keeps up.
    double wait_seconds() const { return wait_seconds_; }

    /// Continues at `state` (e.g. restored from a checkpoint). Throws ArgumentError unless epoch >= 0 and
    /// 0 <= batch <= num_batches().
    /// @throws ArgumentError when epoch < 0 or batch is outside [0, num_batches()], naming them.
    void set_state(LoaderState state) {
        check<ArgumentError>(state.epoch >= 0 && state.batch >= 0 && state.batch <= num_batches_,
                             "DataLoader::set_state: epoch ", state.epoch, ", batch ", state.batch,
                             " outside epoch >= 0, batch in [0, ", num_batches_, "]");
        state_ = state;
        if (!worker_.joinable()) return;
        std::lock_guard<std::mutex> lock(mutex_);
        const LoaderState want = wrap(state);
        if (ready_ && slot_key_ == want) return;
        if (!ready_ && busy_ && producing_ == want && producing_generation_ == generation_) return;
        ready_ = false;
        paused_ = false;
        error_ = nullptr;
        cursor_ = want;
        ++generation_;
        changed_.notify_all();
    }

    /// Starts epoch `epoch` from its first batch.
    /// @throws ArgumentError when epoch < 0.
    void set_epoch(index_t epoch) { set_state({epoch, 0}); }

    /// Moves the next batch into `out` and returns true; or, at the end of an epoch, returns false and moves on
    /// to the start of the next epoch. `out`'s previous buffers are reused. Rethrows an exception thrown while
    /// building the batch (the state then stays at that batch).
    /// @throws whatever options().transform threw while building the batch (rethrown here); strata::Error
    /// "internal error" if the loader thread built another batch than expected (a bug).
    bool next(Batch& out) {
        if (state_.batch >= num_batches_) {
            state_ = {state_.epoch + 1, 0};
            return false;
        }
        const auto start = std::chrono::steady_clock::now();
        if (!options_.prefetch) {
            produce(state_, out, order_);
        } else {
            std::unique_lock<std::mutex> lock(mutex_);
            if (!worker_.joinable()) {
                cursor_ = state_;
                worker_ = std::thread([this] { run(); });
            } else if (paused_) {  // after an error: build this batch again, now that it is asked for again
                paused_ = false;
                cursor_ = state_;
                ++generation_;
                changed_.notify_all();
            }
            changed_.wait(lock, [this] { return ready_; });
            ready_ = false;
            if (error_) {
                std::exception_ptr error = std::exchange(error_, nullptr);
                paused_ = true;  // the worker idles until next() asks again
                wait_seconds_ += seconds_since(start);
                std::rethrow_exception(error);
            }
            check<Error>(slot_key_ == state_, "DataLoader: internal error: the loader thread built batch ",
                         slot_key_.batch, " of epoch ", slot_key_.epoch, " for batch ", state_.batch, " of epoch ",
                         state_.epoch);
            std::swap(out, slot_);  // the worker reuses out's old buffers for the batch after
            changed_.notify_all();
        }
        wait_seconds_ += seconds_since(start);
        ++state_.batch;
        return true;
    }

    /// The dataset indices in the order epoch `epoch` visits them (a permutation of 0..N-1).
    std::vector<index_t> epoch_order(index_t epoch) const {
        std::vector<index_t> order(static_cast<std::size_t>(data_->size()));
        std::iota(order.begin(), order.end(), index_t{0});
        if (!options_.shuffle) return order;
        Generator gen(detail::stream_seed(options_.seed, 1, epoch));
        for (std::size_t i = order.size(); i > 1; --i)  // Fisher-Yates
            std::swap(order[i - 1], order[static_cast<std::size_t>(gen.below(i))]);
        return order;
    }

    /// Builds batch `state.batch` of epoch `state.epoch` into `out` on the calling thread, exactly as next()
    /// would return it. Throws ArgumentError unless 0 <= state.batch < num_batches().
    /// @throws ArgumentError when state.batch is outside [0, num_batches()); what options().transform throws.
    void make_batch(LoaderState state, Batch& out) const {
        check<ArgumentError>(state.batch >= 0 && state.batch < num_batches_, "DataLoader::make_batch: batch ",
                             state.batch, " outside [0, ", num_batches_, ")");
        detail::EpochOrder order;
        produce(state, out, order);
    }

private:
    static double seconds_since(std::chrono::steady_clock::time_point start) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }

    /// `s`, with the end of an epoch written as the start of the next.
    LoaderState wrap(LoaderState s) const { return s.batch >= num_batches_ ? LoaderState{s.epoch + 1, 0} : s; }

    void produce(LoaderState at, Batch& out, detail::EpochOrder& order) const {
        if (order.epoch != at.epoch) {
            order.order = epoch_order(at.epoch);
            order.epoch = at.epoch;
        }
        const Dataset& d = *data_;
        const index_t first = at.batch * options_.batch_size;
        const index_t count = std::min(options_.batch_size, d.size() - first);
        const Shape shape{count, d.channels(), d.height(), d.width()};
        if (out.images.shape() != shape)
            out.images = Tensor<float>(shape);
        out.labels.resize(static_cast<std::size_t>(count));
        out.indices.resize(static_cast<std::size_t>(count));
        out.epoch = at.epoch;
        out.index = at.batch;
        const index_t per = d.image_numel();
        const Augmentation& aug = options_.augment;
        Generator gen(detail::stream_seed(options_.seed, 2, at.epoch, at.batch));
        for (index_t j = 0; j < count; ++j) {
            const index_t i = order.order[static_cast<std::size_t>(first + j)];
            out.indices[static_cast<std::size_t>(j)] = i;
            out.labels[static_cast<std::size_t>(j)] = d.labels()[static_cast<std::size_t>(i)];
            float* dst = out.images.data() + j * per;
            if (aug.enabled())
                apply_transform(draw_transform(aug, gen), d.image(i), dst, d.channels(), d.height(), d.width(),
                                fill_.data());
            else if (per > 0)
                std::memcpy(dst, d.image(i), sizeof(float) * static_cast<std::size_t>(per));
        }
        if (options_.transform) options_.transform(out);
    }

    /// The loader thread: keeps one batch ready ahead of the consumer.
    void run() {
        detail::EpochOrder order;
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            changed_.wait(lock, [this] { return stop_ || (!ready_ && !paused_); });
            if (stop_) return;
            const LoaderState key = cursor_;
            const std::uint64_t generation = generation_;
            Batch work = std::move(slot_);
            busy_ = true;
            producing_ = key;
            producing_generation_ = generation;
            lock.unlock();
            std::exception_ptr error;
            try {
                produce(key, work, order);
            } catch (...) {
                error = std::current_exception();
            }
            lock.lock();
            busy_ = false;
            slot_ = std::move(work);
            if (stop_) return;
            if (generation != generation_) continue;  // set_state() moved elsewhere meanwhile
            slot_key_ = key;
            error_ = error;
            ready_ = true;
            cursor_ = wrap({key.epoch, key.batch + 1});
            changed_.notify_all();
        }
    }

    const Dataset* data_;
    LoaderOptions options_;
    std::vector<float> fill_;
    index_t num_batches_ = 0;
    LoaderState state_;
    double wait_seconds_ = 0;
    detail::EpochOrder order_;  // used by next() when not prefetching

    // Shared with the loader thread, under mutex_.
    std::mutex mutex_;
    std::condition_variable changed_;
    std::thread worker_;
    bool stop_ = false;
    bool ready_ = false;  // slot_ holds batch slot_key_ (or error_)
    bool busy_ = false;   // the worker is building batch producing_
    bool paused_ = false; // an error was delivered; the worker waits for the next request
    LoaderState cursor_, slot_key_, producing_;
    std::uint64_t generation_ = 0;  // bumped whenever set_state() discards the batch in progress
    std::uint64_t producing_generation_ = 0;
    Batch slot_;
    std::exception_ptr error_;
};

}  // namespace strata::data
