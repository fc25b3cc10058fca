#pragma once
/// @file
/// Generator: a small, seeded, portable random number generator (xoshiro256**), with uniform and normal draws
/// that give the same numbers on every platform and compiler (unlike std::normal_distribution).

#include <array>
#include <cmath>
#include <cstdint>

namespace strata {

/// Seeded pseudo-random generator (xoshiro256** seeded through splitmix64). Copyable; its whole state is
/// `state()`, so a checkpoint can save and restore it exactly.
class Generator {
public:
    /// The complete state: four xoshiro words, plus a cached second normal deviate.
    struct State {
        std::array<std::uint64_t, 4> words{};
        double cached_normal = 0.0;
        bool has_cached_normal = false;
    };

    /// A generator seeded with `seed`; equal seeds give equal streams.
    explicit Generator(std::uint64_t seed = 0x5EED) { this->seed(seed); }

    /// Re-seeds the generator.
    void seed(std::uint64_t seed) {
        std::uint64_t x = seed;
        for (auto& w : state_.words) w = splitmix64(x);
        state_.has_cached_normal = false;
    }

    /// Next 64 random bits.
    std::uint64_t next_u64() {
        auto& s = state_.words;
        const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
        const std::uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
    }

    /// Uniform double in [0, 1).
    double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

    /// Uniform double in [lo, hi).
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

    /// Uniform integer in [0, n), without modulo bias; n must be > 0.
    std::uint64_t below(std::uint64_t n) {
        const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
        std::uint64_t x;
        do x = next_u64();
        while (x >= limit);
        return x % n;
    }

    /// Standard normal deviate (Box-Muller; the second deviate of each pair is cached).
    double normal() {
        if (state_.has_cached_normal) {
            state_.has_cached_normal = false;
            return state_.cached_normal;
        }
        double u1;
        do u1 = uniform();
        while (u1 <= 0.0);
        const double u2 = uniform();
        const double r = std::sqrt(-2.0 * std::log(u1));
        const double theta = 6.283185307179586476925 * u2;
        state_.cached_normal = r * std::sin(theta);
        state_.has_cached_normal = true;
        return r * std::cos(theta);
    }

    /// Normal deviate with the given mean and standard deviation.
    double normal(double mean, double stddev) { return mean + stddev * normal(); }

    /// The complete state, for checkpoints.
    const State& state() const { return state_; }
    /// Restores a state from `state()`.
    void set_state(const State& s) { state_ = s; }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix64(std::uint64_t& x) {
        std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    State state_;
};

}  // namespace strata
