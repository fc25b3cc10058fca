// Tests of data/augment.hpp: the pixel mapping of each augmentation, worked out by hand, and the draws.

#include <catch2/catch.hpp>

#include <set>

#include "strata/data/augment.hpp"

using namespace strata;
using namespace strata::data;
using Catch::Contains;

namespace {
// A 2-channel 3 x 4 image: channel c, pixel (y, x) = 100 c + 10 y + x.
std::vector<float> image() {
    std::vector<float> v;
    for (int c = 0; c < 2; ++c)
        for (int y = 0; y < 3; ++y)
            for (int x = 0; x < 4; ++x) v.push_back(static_cast<float>(100 * c + 10 * y + x));
    return v;
}

std::vector<float> apply(const SampleTransform& t) {
    const std::vector<float> src = image();
    std::vector<float> dst(src.size(), -7.0f);
    const float fill[2] = {-1.0f, -2.0f};
    apply_transform(t, src.data(), dst.data(), 2, 3, 4, fill);
    return dst;
}
}  // namespace

TEST_CASE("apply_transform: identity, crop, translation, flip", "[data][augment]") {
    CHECK(apply({}) == image());

    SampleTransform crop;  // window one row down and one column left: out(y, x) = in(y + 1, x - 1)
    crop.crop_y = 1;
    crop.crop_x = -1;
    CHECK(apply(crop) == std::vector<float>{-1, 10, 11, 12,  -1, 20, 21, 22,  -1, -1, -1, -1,
                                            -2, 110, 111, 112, -2, 120, 121, 122, -2, -2, -2, -2});

    SampleTransform shift;  // content moves up 2 and right 1: out(y, x) = in(y + 2, x - 1)
    shift.shift_y = -2;
    shift.shift_x = 1;
    CHECK(apply(shift) == std::vector<float>{-1, 20, 21, 22,  -1, -1, -1, -1,  -1, -1, -1, -1,
                                             -2, 120, 121, 122, -2, -2, -2, -2, -2, -2, -2, -2});

    SampleTransform flip;
    flip.flip = true;
    CHECK(apply(flip) == std::vector<float>{3, 2, 1, 0,  13, 12, 11, 10,  23, 22, 21, 20,
                                            103, 102, 101, 100, 113, 112, 111, 110, 123, 122, 121, 120});
}

TEST_CASE("apply_transform composes crop, then translation, then flip", "[data][augment]") {
    // Crop x by +2 (out = in(x + 2): 2 3 f f), translate right by 1 (f 2 3 f), flip (f 3 2 f). The fill from
    // the crop stays fill after the translation: composition, not a summed shift (which would give f 3 2 1).
    SampleTransform t;
    t.crop_x = 2;
    t.shift_x = 1;
    t.flip = true;
    const std::vector<float> out = apply(t);
    CHECK(std::vector<float>(out.begin(), out.begin() + 4) == std::vector<float>{-1, 3, 2, -1});
    CHECK(std::vector<float>(out.begin() + 12, out.begin() + 16) == std::vector<float>{-2, 103, 102, -2});
    // Shifts as large as the image leave only fill.
    SampleTransform away;
    away.shift_y = 3;
    const std::vector<float> gone = apply(away);
    CHECK(gone[0] == -1.0f);
    CHECK(gone[11] == -1.0f);
    CHECK(gone[23] == -2.0f);
}

TEST_CASE("draw_transform covers the ranges, flips about half the time, draws nothing when off",
          "[data][augment]") {
    Augmentation aug;
    aug.crop_padding = 2;
    aug.max_translation = 1;
    aug.horizontal_flip = true;
    Generator gen(3);
    std::set<index_t> crops, shifts;
    int flips = 0;
    const int draws = 4000;
    for (int i = 0; i < draws; ++i) {
        const SampleTransform t = draw_transform(aug, gen);
        crops.insert(t.crop_y);
        crops.insert(t.crop_x);
        shifts.insert(t.shift_y);
        shifts.insert(t.shift_x);
        flips += t.flip;
    }
    CHECK(crops == std::set<index_t>{-2, -1, 0, 1, 2});
    CHECK(shifts == std::set<index_t>{-1, 0, 1});
    CHECK(flips > draws * 0.45);
    CHECK(flips < draws * 0.55);
    // Same seed, same draws.
    Generator a(11), b(11);
    for (int i = 0; i < 10; ++i) {
        const SampleTransform s = draw_transform(aug, a), t = draw_transform(aug, b);
        CHECK((s.crop_y == t.crop_y && s.crop_x == t.crop_x && s.shift_y == t.shift_y && s.flip == t.flip));
    }
    // Nothing enabled: no draws, identity.
    Generator g(5), untouched(5);
    const SampleTransform none = draw_transform(Augmentation{}, g);
    CHECK(g.next_u64() == untouched.next_u64());
    CHECK((none.crop_x == 0 && none.shift_y == 0 && !none.flip));
    CHECK_FALSE(Augmentation{}.enabled());
    CHECK(aug.enabled());
}

TEST_CASE("validate rejects negative sizes", "[data][augment]") {
    Augmentation aug;
    aug.crop_padding = -1;
    CHECK_THROWS_WITH(validate(aug), Contains("crop_padding") && Contains("-1"));
    aug.crop_padding = 0;
    aug.max_translation = -3;
    CHECK_THROWS_AS(validate(aug), ArgumentError);
    CHECK_THROWS_WITH(validate(aug), Contains("max_translation") && Contains("-3"));
}
