#pragma once
/// @file
/// DistributedSampler: splits each epoch's permutation of a dataset into one equal shard per rank, like
/// PyTorch's torch.utils.data.DistributedSampler, and gather_batch() to build a Batch from shard indices.
///
/// Every rank computes the same permutation from the shared seed (the very permutation a DataLoader with the
/// same seed and shuffle setting visits, DataLoader::epoch_order), so no indices are communicated. With
/// drop_last off the permutation is padded by repeating its first elements until its length is a multiple of
/// the number of ranks; with drop_last on it is truncated to one. Rank r then takes either every R-th index
/// starting at r (strided, PyTorch's choice) or the r-th contiguous block.
///
/// Strided sharding keeps single-process semantics: local batch b of every rank (batch size B/R) holds exactly
/// the samples of global batch b of a single-process loader with batch size B, when the dataset size is a
/// multiple of R. So R ranks x batch B/R with averaged gradients take the same steps as 1 process x batch B.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/random.hpp"
#include "strata/data/data_loader.hpp"
#include "strata/data/dataset.hpp"

namespace strata::distributed {

/// How a rank's shard is cut from the (padded) permutation of length R * num_samples.
enum class Sharding {
    /// Rank r takes positions r, r + R, r + 2R, ... (PyTorch's DistributedSampler).
    strided,
    /// Rank r takes positions [r * num_samples, (r + 1) * num_samples).
    contiguous,
};

/// Options of DistributedSampler (PyTorch's defaults: shuffle on, seed 0, drop_last off, strided).
struct SamplerOptions {
    /// Shuffle every epoch (seeded by `seed` and the epoch); otherwise dataset order.
    bool shuffle = true;
    /// The seed shared by all ranks; use the DataLoader's seed to visit the same permutation.
    std::uint64_t seed = 0;
    /// Drop the tail so that the permutation divides evenly, instead of padding it.
    bool drop_last = false;
    /// Strided (default) or contiguous shards.
    Sharding sharding = Sharding::strided;
};

/// The per-rank index lists of each epoch; a pure function of (dataset size, ranks, rank, options, epoch).
class DistributedSampler {
public:
    /// A sampler of `dataset_size` samples for rank `rank` of `num_replicas`.
    /// @throws ArgumentError on num_replicas <= 0, rank outside [0, num_replicas), a negative size, or
    ///         drop_last with fewer samples than ranks (every shard would be empty).
    DistributedSampler(index_t dataset_size, int num_replicas, int rank, SamplerOptions options = {})
        : size_(dataset_size), replicas_(num_replicas), rank_(rank), options_(options) {
        check<ArgumentError>(num_replicas > 0, "DistributedSampler: num_replicas must be positive, got ",
                             num_replicas);
        check<ArgumentError>(rank >= 0 && rank < num_replicas, "DistributedSampler: rank ", rank,
                             " outside [0, ", num_replicas, ")");
        check<ArgumentError>(dataset_size >= 0, "DistributedSampler: negative dataset size ", dataset_size);
        check<ArgumentError>(!options.drop_last || dataset_size >= num_replicas, "DistributedSampler: drop_last "
                             "with ", dataset_size, " samples and ", num_replicas, " ranks leaves every shard empty");
        num_samples_ = options.drop_last ? dataset_size / num_replicas
                                         : (dataset_size + num_replicas - 1) / num_replicas;
    }

    /// Samples per rank and epoch: ceil(N / R), or floor(N / R) with drop_last.
    index_t num_samples() const { return num_samples_; }
    /// Length of the padded (or truncated) permutation: R * num_samples().
    index_t total_size() const { return num_samples_ * replicas_; }
    /// Local batches of size `batch_size` per epoch (the last one may be smaller unless `drop_last`).
    index_t num_batches(index_t batch_size, bool drop_last = false) const {
        check<ArgumentError>(batch_size > 0, "DistributedSampler::num_batches: batch_size must be positive, got ",
                             batch_size);
        return drop_last ? num_samples_ / batch_size : (num_samples_ + batch_size - 1) / batch_size;
    }
    /// The number of ranks R.
    int num_replicas() const { return replicas_; }
    /// This sampler's rank r.
    int rank() const { return rank_; }
    /// The options.
    const SamplerOptions& options() const { return options_; }

    /// The permutation of 0..N-1 that epoch `epoch` visits, identical on every rank and identical to
    /// DataLoader::epoch_order of a loader with the same seed and shuffle setting.
    std::vector<index_t> permutation(index_t epoch) const {
        std::vector<index_t> order(static_cast<std::size_t>(size_));
        std::iota(order.begin(), order.end(), index_t{0});
        if (!options_.shuffle) return order;
        Generator gen(data::detail::stream_seed(options_.seed, 1, epoch));
        for (std::size_t i = order.size(); i > 1; --i)  // Fisher-Yates, as DataLoader::epoch_order
            std::swap(order[i - 1], order[static_cast<std::size_t>(gen.below(i))]);
        return order;
    }

    /// This rank's num_samples() dataset indices for epoch `epoch`, in visiting order.
    std::vector<index_t> indices(index_t epoch) const {
        return shard(permutation(epoch), replicas_, rank_, options_.drop_last, options_.sharding);
    }

    /// Rank `rank`'s shard of `order` among `num_replicas`: pads `order` cyclically with its own first
    /// elements (repeating it whole when it is shorter than the padding) or, with `drop_last`, truncates it,
    /// to a multiple of num_replicas, then cuts the strided or contiguous shard. Every shard has the same size.
    /// @throws ArgumentError on num_replicas <= 0 or rank outside [0, num_replicas).
    static std::vector<index_t> shard(const std::vector<index_t>& order, int num_replicas, int rank,
                                      bool drop_last = false, Sharding sharding = Sharding::strided) {
        check<ArgumentError>(num_replicas > 0 && rank >= 0 && rank < num_replicas, "DistributedSampler::shard: rank ",
                             rank, " outside [0, ", num_replicas, ")");
        const auto n = static_cast<index_t>(order.size());
        const index_t per = drop_last ? n / num_replicas : (n + num_replicas - 1) / num_replicas;
        std::vector<index_t> out(static_cast<std::size_t>(per));
        for (index_t j = 0; j < per; ++j) {
            const index_t pos = sharding == Sharding::strided ? rank + j * num_replicas : rank * per + j;
            out[static_cast<std::size_t>(j)] = order[static_cast<std::size_t>(pos % n)];  // pos >= n: padding
        }
        return out;
    }

private:
    index_t size_;
    int replicas_;
    int rank_;
    SamplerOptions options_;
    index_t num_samples_ = 0;
};

/// Fills `out` with the samples `indices[first .. first + count)` of `data` (images copied, no augmentation),
/// reusing out's buffers; out.epoch and out.index are set to `epoch` and `batch`.
/// @throws ArgumentError when the range leaves `indices` or an index is outside the dataset.
inline void gather_batch(const data::Dataset& data, const std::vector<index_t>& indices, index_t first,
                         index_t count, data::Batch& out, index_t epoch = 0, index_t batch = 0) {
    check<ArgumentError>(first >= 0 && count >= 0 && first + count <= static_cast<index_t>(indices.size()),
                         "gather_batch: range [", first, ", ", first + count, ") outside the ", indices.size(),
                         " indices");
    const Shape shape{count, data.channels(), data.height(), data.width()};
    if (out.images.shape() != shape) out.images = Tensor<float>(shape);
    out.labels.resize(static_cast<std::size_t>(count));
    out.indices.resize(static_cast<std::size_t>(count));
    out.epoch = epoch;
    out.index = batch;
    const index_t per = data.image_numel();
    for (index_t j = 0; j < count; ++j) {
        const index_t i = indices[static_cast<std::size_t>(first + j)];
        check<ArgumentError>(i >= 0 && i < data.size(), "gather_batch: index ", i, " outside the dataset of ",
                             data.size(), " samples");
        out.indices[static_cast<std::size_t>(j)] = i;
        out.labels[static_cast<std::size_t>(j)] = data.labels()[static_cast<std::size_t>(i)];
        if (per > 0)
            std::memcpy(out.images.data() + j * per, data.image(i), sizeof(float) * static_cast<std::size_t>(per));
    }
}

}  // namespace strata::distributed
