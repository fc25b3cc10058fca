#pragma once
/// @file
/// Dataset: an in-memory image classification set, images as Tensor<float> [N, C, H, W] plus integer labels,
/// with per-channel normalisation and slicing; and the usual per-channel statistics of the datasets strata
/// reads (pixels scaled to [0, 1] first).

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/tensor.hpp"

namespace strata::data {

/// Which part of a dataset to load.
enum class Split { train, test };

/// The number of classes of MNIST, Fashion-MNIST and CIFAR-10.
inline constexpr index_t ten_classes = 10;

/// Fashion-MNIST training-set pixel mean (pixels in [0, 1]); normalise with (x - mean) / std.
inline constexpr float fashion_mnist_mean = 0.2860f;
/// Fashion-MNIST training-set pixel standard deviation (pixels in [0, 1]).
inline constexpr float fashion_mnist_std = 0.3530f;
/// MNIST training-set pixel mean (pixels in [0, 1]).
inline constexpr float mnist_mean = 0.1307f;
/// MNIST training-set pixel standard deviation (pixels in [0, 1]).
inline constexpr float mnist_std = 0.3081f;
/// CIFAR-10 training-set per-channel (R, G, B) means (pixels in [0, 1]).
inline const std::vector<float> cifar10_mean = {0.4914f, 0.4822f, 0.4465f};
/// CIFAR-10 training-set per-channel (R, G, B) standard deviations over all pixels (pixels in [0, 1]).
inline const std::vector<float> cifar10_std = {0.2470f, 0.2435f, 0.2616f};

/// Images [N, C, H, W] and labels in [0, num_classes). Move-only like Tensor; `clone()` copies.
class Dataset {
public:
    /// An empty dataset.
    Dataset() = default;

    /// A dataset from images [N, C, H, W] and N labels in [0, num_classes). Throws ShapeError unless the
    /// images have rank 4 and N matches the number of labels; ArgumentError on a label out of range.
    /// @throws ShapeError when the images are not rank 4 or their count differs from the labels', naming both.
    /// @throws ArgumentError when num_classes <= 0 or a label is outside [0, num_classes), naming it and its sample.
    Dataset(Tensor<float> images, std::vector<index_t> labels, index_t num_classes = 10)
        : images_(std::move(images)), labels_(std::move(labels)), num_classes_(num_classes) {
        check<ShapeError>(images_.rank() == 4, "Dataset: images must be [N, C, H, W], got shape ",
                          images_.shape());
        check<ShapeError>(images_.dim(0) == static_cast<index_t>(labels_.size()), "Dataset: ", images_.dim(0),
                          " images (shape ", images_.shape(), ") but ", labels_.size(), " labels");
        check<ArgumentError>(num_classes_ > 0, "Dataset: num_classes must be positive, got ", num_classes_);
        for (std::size_t i = 0; i < labels_.size(); ++i)
            check<ArgumentError>(labels_[i] >= 0 && labels_[i] < num_classes_, "Dataset: label ", labels_[i],
                                 " of sample ", i, " is outside [0, ", num_classes_, ")");
    }

    Dataset(Dataset&&) noexcept = default;
    Dataset& operator=(Dataset&&) noexcept = default;

    /// Number of samples N.
    index_t size() const { return static_cast<index_t>(labels_.size()); }
    bool empty() const { return labels_.empty(); }
    index_t channels() const { return images_.rank() == 4 ? images_.dim(1) : 0; }
    index_t height() const { return images_.rank() == 4 ? images_.dim(2) : 0; }
    index_t width() const { return images_.rank() == 4 ? images_.dim(3) : 0; }
    /// Elements per image, C * H * W.
    index_t image_numel() const { return channels() * height() * width(); }
    index_t num_classes() const { return num_classes_; }

    /// The images [N, C, H, W].
    const Tensor<float>& images() const { return images_; }
    /// The labels, N of them.
    const std::vector<index_t>& labels() const { return labels_; }
    /// Pointer to the C * H * W elements of image `i` (unchecked).
    const float* image(index_t i) const { return images_.data() + i * image_numel(); }

    /// Per-channel mean applied by normalize() (empty if not normalised).
    const std::vector<float>& mean() const { return mean_; }
    /// Per-channel standard deviation applied by normalize() (empty if not normalised).
    const std::vector<float>& stddev() const { return std_; }
    /// Whether normalize() has been applied.
    bool normalized() const { return !mean_.empty(); }

    /// Maps each channel c to (x - mean[c]) / std[c] in place. `mean` and `std` have C entries, or one entry
    /// used for every channel. Throws ArgumentError on a count mismatch, a std <= 0, or if already normalised.
    /// @throws ArgumentError when the counts fit neither C nor 1, a std is <= 0, or the set is already normalised.
    Dataset& normalize(const std::vector<float>& mean, const std::vector<float>& std) {
        const auto c = static_cast<std::size_t>(channels());
        check<ArgumentError>(!normalized(), "Dataset::normalize: already normalised");
        check<ArgumentError>((mean.size() == c || mean.size() == 1) && (std.size() == c || std.size() == 1),
                             "Dataset::normalize: need 1 or ", c, " means and stds for ", c,
                             " channels, got ", mean.size(), " and ", std.size());
        mean_.resize(c);
        std_.resize(c);
        for (std::size_t k = 0; k < c; ++k) {
            mean_[k] = mean.size() == 1 ? mean[0] : mean[k];
            std_[k] = std.size() == 1 ? std[0] : std[k];
            check<ArgumentError>(std_[k] > 0, "Dataset::normalize: std of channel ", k, " must be > 0, got ",
                                 std_[k]);
        }
        const index_t plane = height() * width();
        for (index_t i = 0; i < size(); ++i)
            for (std::size_t k = 0; k < c; ++k) {
                float* p = images_.data() + (i * static_cast<index_t>(c) + static_cast<index_t>(k)) * plane;
                const float m = mean_[k], inv = 1.0f / std_[k];
                for (index_t j = 0; j < plane; ++j) p[j] = (p[j] - m) * inv;
            }
        return *this;
    }

    /// normalize() with one mean and std for every channel.
    /// @throws ArgumentError when std <= 0 or the set is already normalised.
    Dataset& normalize(float mean, float std) { return normalize(std::vector<float>{mean}, std::vector<float>{std}); }

    /// The value a raw pixel of 0 has now, per channel: -mean/std after normalize(), else 0 (the fill for
    /// padding in augmentation).
    std::vector<float> zero_value() const {
        std::vector<float> z(static_cast<std::size_t>(channels()), 0.0f);
        for (std::size_t k = 0; k < mean_.size(); ++k) z[k] = -mean_[k] / std_[k];
        return z;
    }

    /// A copy of the samples at `indices` (in that order; repeats allowed). Throws ArgumentError on an index
    /// outside [0, N).
    /// @throws ArgumentError when an index is outside [0, size()), naming it.
    Dataset select(const std::vector<index_t>& indices) const {
        const index_t per = image_numel();
        Tensor<float> images(Shape{static_cast<index_t>(indices.size()), channels(), height(), width()});
        std::vector<index_t> labels(indices.size());
        for (std::size_t j = 0; j < indices.size(); ++j) {
            const index_t i = indices[j];
            check<ArgumentError>(i >= 0 && i < size(), "Dataset::select: index ", i, " out of range for ", size(),
                                 " samples");
            if (per > 0) std::memcpy(images.data() + static_cast<index_t>(j) * per, image(i), sizeof(float) * per);
            labels[j] = labels_[static_cast<std::size_t>(i)];
        }
        Dataset out(std::move(images), std::move(labels), num_classes_);
        out.mean_ = mean_;
        out.std_ = std_;
        return out;
    }

    /// A copy of the first `n` samples. Throws ArgumentError unless 0 <= n <= size().
    /// @throws ArgumentError when n is outside [0, size()], naming it.
    Dataset head(index_t n) const {
        check<ArgumentError>(n >= 0 && n <= size(), "Dataset::head: n = ", n, " outside [0, ", size(), "]");
        std::vector<index_t> idx(static_cast<std::size_t>(n));
        for (index_t i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
        return select(idx);
    }

    /// A copy of the first min(limit, size()) samples; a negative limit means all of them.
    Dataset subset(index_t limit) const { return head(limit < 0 ? size() : std::min(limit, size())); }

    /// A deep copy.
    Dataset clone() const { return subset(-1); }

    /// How many samples each class has (num_classes() entries).
    std::vector<index_t> class_counts() const {
        std::vector<index_t> counts(static_cast<std::size_t>(num_classes_), 0);
        for (index_t l : labels_) ++counts[static_cast<std::size_t>(l)];
        return counts;
    }

private:
    Tensor<float> images_;
    std::vector<index_t> labels_;
    index_t num_classes_ = 10;
    std::vector<float> mean_, std_;
};

}  // namespace strata::data
