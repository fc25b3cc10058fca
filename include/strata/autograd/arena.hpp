#pragma once
/// @file
/// Arena: a 64-byte aligned bump allocator that is rewound, not freed, between training steps.

#include <cstddef>
#include <vector>

#include "strata/core/aligned.hpp"

namespace strata {

/// Bump allocator for tape nodes and the buffers ops save for backward.
///
/// `allocate` hands out 64-byte aligned memory from large blocks; `rewind` makes all of it reusable at once
/// without running destructors (so only trivially destructible objects may live here). After a rewind, a
/// multi-block arena is merged into one block of the combined size, so a training loop that repeats the same
/// step allocates from the heap only during its first two steps.
class Arena {
public:
    /// An arena whose first block holds `initial_bytes`.
    explicit Arena(std::size_t initial_bytes = std::size_t{1} << 20) : initial_bytes_(initial_bytes) {}
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;
    ~Arena() {
        for (auto& b : blocks_) detail::aligned_free(b.data);
    }

    /// `bytes` of uninitialised memory aligned to 64 bytes, valid until the next rewind().
    void* allocate(std::size_t bytes) {
        bytes = detail::round_up_to_alignment(bytes == 0 ? 1 : bytes);
        while (current_ < blocks_.size()) {
            Block& b = blocks_[current_];
            if (b.size - used_ >= bytes) {
                void* p = b.data + used_;
                used_ += bytes;
                bytes_in_use_ += bytes;
                return p;
            }
            ++current_;
            used_ = 0;
        }
        const std::size_t last = blocks_.empty() ? initial_bytes_ : blocks_.back().size;
        const std::size_t size = bytes > 2 * last ? bytes : 2 * last;
        blocks_.push_back({static_cast<char*>(detail::aligned_allocate(size)), size});
        current_ = blocks_.size() - 1;
        used_ = bytes;
        bytes_in_use_ += bytes;
        return blocks_.back().data;
    }

    /// Typed allocation of `n` uninitialised T.
    template <class T>
    T* allocate_array(std::size_t n) {
        return static_cast<T*>(allocate(n * sizeof(T)));
    }

    /// Makes all memory reusable. Pointers handed out before are invalid afterwards.
    void rewind() {
        if (blocks_.size() > 1) {
            std::size_t total = 0;
            for (auto& b : blocks_) {
                total += b.size;
                detail::aligned_free(b.data);
            }
            blocks_.clear();
            blocks_.push_back({static_cast<char*>(detail::aligned_allocate(total)), total});
        }
        current_ = 0;
        used_ = 0;
        bytes_in_use_ = 0;
    }

    /// A point of the arena's fill, to return to with rewind_to().
    struct Position {
        std::size_t block, used, in_use;
    };
    /// Where the next allocation would start.
    Position position() const { return Position{current_, used_, bytes_in_use_}; }
    /// Makes everything allocated since `p` (taken from position() since the last rewind) reusable, last in
    /// first out: scratch an op needs only while it runs. Pointers handed out after `p` are invalid afterwards;
    /// the memory stays with the arena.
    void rewind_to(const Position& p) {
        current_ = p.block;
        used_ = p.used;
        bytes_in_use_ = p.in_use;
    }

    /// Bytes handed out since the last rewind (after rounding to 64).
    std::size_t bytes_in_use() const { return bytes_in_use_; }
    /// Bytes held from the heap.
    std::size_t bytes_reserved() const {
        std::size_t total = 0;
        for (auto& b : blocks_) total += b.size;
        return total;
    }
    /// Number of heap blocks held.
    std::size_t block_count() const { return blocks_.size(); }

private:
    struct Block {
        char* data;
        std::size_t size;
    };
    std::vector<Block> blocks_;
    std::size_t current_ = 0;
    std::size_t used_ = 0;
    std::size_t bytes_in_use_ = 0;
    std::size_t initial_bytes_;
};

}  // namespace strata
