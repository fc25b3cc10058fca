#pragma once
/// @file
/// Per-sample random image augmentation for DataLoader: random crop with padding, random translation and
/// horizontal flip. The random choices for a sample are drawn from a Generator (draw_transform) and then
/// applied (apply_transform), so a seeded generator gives reproducible augmentation.

#include <cstdint>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/random.hpp"
#include "strata/core/shape.hpp"

namespace strata::data {

/// Which random augmentations to apply to each sample, in this order: crop, translation, flip. Pixels that
/// come from outside the image take the fill value (DataLoader uses the value of a raw 0 pixel: 0, or
/// -mean/std on a normalised Dataset, so padding is black as with torchvision's pad-then-normalise).
struct Augmentation {
    /// Random crop with padding (torchvision RandomCrop(size, padding=p)): the image is padded by
    /// crop_padding pixels on every side and an H x W window is cut at a uniformly random offset, i.e. the
    /// content shifts by a uniform integer in [-p, p] on each axis. 0 turns it off.
    index_t crop_padding = 0;
    /// Random translation: the content moves by a uniform integer in [-k, k] pixels on each axis
    /// independently (k = max_translation), vacated pixels take the fill value. 0 turns it off.
    index_t max_translation = 0;
    /// Mirror left-right with probability 0.5.
    bool horizontal_flip = false;

    /// Whether any augmentation is on.
    bool enabled() const { return crop_padding > 0 || max_translation > 0 || horizontal_flip; }
};

/// The random choices for one sample.
struct SampleTransform {
    /// Crop offset minus padding, in [-crop_padding, crop_padding]: output (y, x) reads input (y + crop_y, x
    /// + crop_x).
    index_t crop_y = 0, crop_x = 0;
    /// Translation in [-max_translation, max_translation]: the content moves down by shift_y and right by
    /// shift_x.
    index_t shift_y = 0, shift_x = 0;
    /// Whether the image is mirrored left-right (last).
    bool flip = false;
};

/// Throws ArgumentError naming the field if `aug` has a negative crop_padding or max_translation.
/// @throws ArgumentError when crop_padding or max_translation is negative, naming it.
inline void validate(const Augmentation& aug) {
    check<ArgumentError>(aug.crop_padding >= 0, "Augmentation: crop_padding must be >= 0, got ", aug.crop_padding);
    check<ArgumentError>(aug.max_translation >= 0, "Augmentation: max_translation must be >= 0, got ",
                         aug.max_translation);
}

/// Draws one sample's transform from `gen`: two draws for the crop offsets (rows, then columns) if
/// crop_padding > 0, two for the translation if max_translation > 0, one for the flip if horizontal_flip.
inline SampleTransform draw_transform(const Augmentation& aug, Generator& gen) {
    SampleTransform t;
    if (aug.crop_padding > 0) {
        const auto span = static_cast<std::uint64_t>(2 * aug.crop_padding + 1);
        t.crop_y = static_cast<index_t>(gen.below(span)) - aug.crop_padding;
        t.crop_x = static_cast<index_t>(gen.below(span)) - aug.crop_padding;
    }
    if (aug.max_translation > 0) {
        const auto span = static_cast<std::uint64_t>(2 * aug.max_translation + 1);
        t.shift_y = static_cast<index_t>(gen.below(span)) - aug.max_translation;
        t.shift_x = static_cast<index_t>(gen.below(span)) - aug.max_translation;
    }
    if (aug.horizontal_flip) t.flip = gen.uniform() < 0.5;
    return t;
}

namespace detail {

/// Source coordinate along one axis of length n for output coordinate i, or -1 for a fill pixel.
inline index_t source_coordinate(index_t i, index_t n, index_t crop, index_t shift, bool flip) {
    index_t j = flip ? n - 1 - i : i;  // flip is applied last, so it is undone first
    j -= shift;
    if (j < 0 || j >= n) return -1;
    j += crop;
    return j < 0 || j >= n ? -1 : j;
}

}  // namespace detail

/// Writes `t` applied to the image [channels, height, width] at `src` into `dst` (same layout, must not
/// overlap `src`). Pixels from outside the image take fill[c] (`fill` has `channels` entries).
inline void apply_transform(const SampleTransform& t, const float* src, float* dst, index_t channels, index_t height,
                            index_t width, const float* fill) {
    std::vector<index_t> cols(static_cast<std::size_t>(width));
    for (index_t x = 0; x < width; ++x)
        cols[static_cast<std::size_t>(x)] = detail::source_coordinate(x, width, t.crop_x, t.shift_x, t.flip);
    for (index_t c = 0; c < channels; ++c) {
        const float* plane = src + c * height * width;
        for (index_t y = 0; y < height; ++y) {
            float* out = dst + (c * height + y) * width;
            const index_t sy = detail::source_coordinate(y, height, t.crop_y, t.shift_y, false);
            if (sy < 0) {
                for (index_t x = 0; x < width; ++x) out[x] = fill[c];
                continue;
            }
            const float* row = plane + sy * width;
            for (index_t x = 0; x < width; ++x) {
                const index_t sx = cols[static_cast<std::size_t>(x)];
                out[x] = sx < 0 ? fill[c] : row[sx];
            }
        }
    }
}

}  // namespace strata::data
