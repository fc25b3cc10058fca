#pragma once
/// @file
/// 64-byte aligned heap buffers (cache line and AVX-512 width), used by Tensor and the autograd arena.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace strata {

/// Alignment in bytes of every tensor buffer and every arena allocation.
inline constexpr std::size_t alignment = 64;

namespace detail {

/// Rounds `n` up to a multiple of `alignment`.
constexpr std::size_t round_up_to_alignment(std::size_t n) { return (n + alignment - 1) & ~(alignment - 1); }

/// `n` elements of T rounded up to whole `alignment`-byte lines, in elements: buffers laid out back to back
/// with these sizes all start on a line.
template <class T>
constexpr std::int64_t whole_lines(std::int64_t n) {
    constexpr auto per_line = static_cast<std::int64_t>(alignment / sizeof(T));
    return (n + per_line - 1) / per_line * per_line;
}

/// Size from which aligned_allocate places a buffer on whole 2 MB pages and, on Linux, asks for transparent huge
/// pages (madvise; a hint the kernel ignores where they are off). A training step's arena and activations are
/// hundreds of MB, touched first by the first steps: on a cloud VM (AMD EPYC, KVM) a 4 KB page fault measured
/// about 20 us, so the first step of plain20 at batch 128 took 2.4 s instead of 0.28 s; 2 MB pages take 512
/// times fewer faults.
inline constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;
inline constexpr std::size_t huge_page_min_bytes = 2 * huge_page_bytes;

/// Allocates `bytes` (rounded up to a multiple of 64) aligned to 64 bytes (to 2 MB from huge_page_min_bytes on,
/// on Linux); throws std::bad_alloc.
inline void* aligned_allocate(std::size_t bytes) {
    bytes = round_up_to_alignment(bytes == 0 ? 1 : bytes);
#if defined(__linux__)
    const bool huge = bytes >= huge_page_min_bytes;
    if (huge) bytes = (bytes + huge_page_bytes - 1) / huge_page_bytes * huge_page_bytes;
    void* p = nullptr;
    if (posix_memalign(&p, huge ? huge_page_bytes : alignment, bytes) != 0) throw std::bad_alloc();
    if (huge) madvise(p, bytes, MADV_HUGEPAGE);
    return p;
#else
    return ::operator new(bytes, std::align_val_t(alignment));
#endif
}

/// Frees memory from aligned_allocate.
inline void aligned_free(void* p) noexcept {
#if defined(__linux__)
    std::free(p);
#else
    ::operator delete(p, std::align_val_t(alignment));
#endif
}

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
