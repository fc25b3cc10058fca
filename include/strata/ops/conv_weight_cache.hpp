#pragma once
/// @file
/// ConvWeightCache<T>: a convolution's weights packed for strata's GEMM kernels, kept between calls that record
/// nothing on the tape (inference), so that a model in evaluation mode does not re-pack every weight on every
/// forward. nn::Conv2d owns one per layer; conv2d() and conv2d_affine() take it as an optional last argument.

#include <cstdint>
#include <mutex>
#include <shared_mutex>

#include "strata/core/aligned.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/core/error.hpp"
#include "strata/core/tensor.hpp"

namespace strata {

/// The packed form of one convolution weight tensor, for one input geometry and kernel family at a time.
///
/// The packed weights are rebuilt whenever the weight's (storage_id(), version()) stamp, the input's height or
/// width, the stride or padding, or the active kernel family (set_isa()) differs from the last fill, so
/// an optimizer step, a loaded checkpoint or a write through the tensor's mutable accessors is always seen. Calls
/// that record on the tape (training) never use it. Several threads may run forwards with one cache (each with
/// its own tape): readers share a lock, a refill takes it exclusively.
template <class T>
class ConvWeightCache {
public:
    /// A cache for the weight tensor `weight` [Cout, Cin, kH, kW], which must outlive it.
    explicit ConvWeightCache(const Tensor<T>& weight) : source_(&weight) {}
    ConvWeightCache(const ConvWeightCache&) = delete;
    ConvWeightCache& operator=(const ConvWeightCache&) = delete;

    /// The weight tensor this cache packs.
    const Tensor<T>& source() const { return *source_; }
    /// How many times the packed weights have been built (for tests and tools).
    std::uint64_t fills() const {
        std::shared_lock<std::shared_mutex> lock(mutex_);
        return fills_;
    }

    /// What the packed weights were built from; equal keys mean equal packed weights.
    struct Key {
        std::uint64_t storage = 0, version = 0;
        Isa isa = Isa::generic;
        index_t height = 0, width = 0, stride = 0, padding = 0, depth_block = 0;

        bool operator==(const Key& o) const {
            return storage == o.storage && version == o.version && isa == o.isa && height == o.height &&
                   width == o.width && stride == o.stride && padding == o.padding && depth_block == o.depth_block;
        }
    };

    /// The packed weights for `key`, rebuilt first by `fill(out)` (writing `size` elements) when the cache holds
    /// another key; `reader` holds the shared lock that keeps them valid while it lives. Returns null (and
    /// `reader` unlocked) when other threads keep refilling the cache with other keys; the caller then packs
    /// its own copy. The first fill, and a fill needing more room, allocate on the heap.
    template <class Fill>
    const T* acquire(const Key& key, index_t size, Fill&& fill, std::shared_lock<std::shared_mutex>& reader) {
        for (int attempt = 0; attempt < 3; ++attempt) {
            reader = std::shared_lock<std::shared_mutex>(mutex_);
            if (key_ == key && filled_) return packed_.get();
            reader.unlock();
            std::unique_lock<std::shared_mutex> writer(mutex_);
            if (!(key_ == key && filled_)) {
                filled_ = false;
                if (capacity_ < size) {
                    packed_ = detail::make_aligned_buffer<T>(static_cast<std::size_t>(size));
                    capacity_ = size;
                }
                fill(packed_.get());
                key_ = key;
                filled_ = true;
                ++fills_;
            }
        }
        reader = std::shared_lock<std::shared_mutex>();
        return nullptr;
    }

private:
    const Tensor<T>* source_;
    mutable std::shared_mutex mutex_;
    Key key_{};
    bool filled_ = false;
    detail::AlignedBuffer<T> packed_;
    index_t capacity_ = 0;
    std::uint64_t fills_ = 0;
};

}  // namespace strata
