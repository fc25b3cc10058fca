#pragma once
/// @file
/// 64-byte aligned heap buffers (cache line and AVX-512 width), used by Tensor and the autograd arena.

#include <cstddef>
#include <memory>
#include <new>

namespace strata {

/// Alignment in bytes of every tensor buffer and every arena allocation.
inline constexpr std::size_t alignment = 64;

namespace detail {

/// Rounds `n` up to a multiple of `alignment`.
constexpr std::size_t round_up_to_alignment(std::size_t n) { return (n + alignment - 1) & ~(alignment - 1); }

/// Allocates `bytes` (rounded up to a multiple of 64) aligned to 64 bytes; throws std::bad_alloc.
inline void* aligned_allocate(std::size_t bytes) {
    return ::operator new(round_up_to_alignment(bytes == 0 ? 1 : bytes), std::align_val_t(alignment));
}

/// Frees memory from aligned_allocate.
inline void aligned_free(void* p) noexcept { ::operator delete(p, std::align_val_t(alignment)); }

/// Deleter for unique_ptr over aligned_allocate'd memory.
struct AlignedDeleter {
    void operator()(void* p) const noexcept { aligned_free(p); }
};

/// An owning pointer to an aligned array of trivially constructible T.
template <class T>
using AlignedBuffer = std::unique_ptr<T[], AlignedDeleter>;

/// Allocates an uninitialised aligned array of `n` T.
template <class T>
AlignedBuffer<T> make_aligned_buffer(std::size_t n) {
    return AlignedBuffer<T>(static_cast<T*>(aligned_allocate(n * sizeof(T))));
}

}  // namespace detail
}  // namespace strata
