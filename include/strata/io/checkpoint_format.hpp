#pragma once
/// @file
/// The pieces of io/checkpoint.hpp below the Checkpoint class: entry dtypes, CheckpointEntry, and the binary
/// format (serialize_checkpoint / parse_checkpoint) that docs/checkpoint-format.md specifies:
///
///     "STRATACK" | u32 version | u64 entry count | entries | u32 CRC-32 of all preceding bytes
///     entry: u32 name length | name (UTF-8) | u8 dtype | u8 rank | rank x i64 dims | u64 byte length | data
///
/// All integers and data are little-endian. The parser checks every length against the bytes that remain before
/// it allocates or copies anything.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "strata/core/tensor.hpp"
#include "strata/io/crc32.hpp"

namespace strata::io {

/// The first 8 bytes of every checkpoint file.
inline constexpr char checkpoint_magic[9] = "STRATACK";

/// Element type of a checkpoint entry; the values are the on-disk codes.
enum class DType : std::uint8_t { f32 = 1, f64 = 2, i64 = 3, u64 = 4, u8 = 5 };

/// "f32", "f64", "i64", "u64", "u8" (or "dtype?" for an invalid value).
inline const char* dtype_name(DType d) {
    switch (d) {
        case DType::f32: return "f32";
        case DType::f64: return "f64";
        case DType::i64: return "i64";
        case DType::u64: return "u64";
        case DType::u8: return "u8";
    }
    return "dtype?";
}

/// Bytes per element of `d` (0 for an invalid value).
inline std::size_t dtype_size(DType d) {
    switch (d) {
        case DType::f32: return 4;
        case DType::f64: case DType::i64: case DType::u64: return 8;
        case DType::u8: return 1;
    }
    return 0;
}

/// The DType of C++ type U: float, double, std::int64_t, std::uint64_t or std::uint8_t.
template <class U>
constexpr DType dtype_of() {
    if constexpr (std::is_same_v<U, float>) return DType::f32;
    else if constexpr (std::is_same_v<U, double>) return DType::f64;
    else if constexpr (std::is_same_v<U, std::int64_t>) return DType::i64;
    else if constexpr (std::is_same_v<U, std::uint64_t>) return DType::u64;
    else {
        static_assert(std::is_same_v<U, std::uint8_t>, "checkpoint entries hold float, double, int64, uint64, uint8");
        return DType::u8;
    }
}

/// One named array of a checkpoint; `data` holds numel() elements of `dtype` in host byte order.
struct CheckpointEntry {
    std::string name;
    DType dtype = DType::f32;
    std::vector<index_t> dims;
    std::vector<std::uint8_t> data;

    /// The product of the dims (1 for a scalar).
    index_t numel() const {
        index_t n = 1;
        for (index_t d : dims) n *= d;
        return n;
    }
    /// "[2, 3]" ("[]" for a scalar).
    std::string shape_string() const {
        std::string s = "[";
        for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
        return s + "]";
    }
};

namespace detail {

inline constexpr std::size_t max_name_bytes = 65535;
inline constexpr std::size_t max_rank = 32;
/// Bytes of the smallest possible entry: name length, 1-byte name, dtype, rank, byte length.
inline constexpr std::size_t min_entry_bytes = 4 + 1 + 1 + 1 + 8;
/// Magic, version, entry count and checksum.
inline constexpr std::size_t min_checkpoint_bytes = 8 + 4 + 8 + 4;

/// Whether `e.data` has exactly the bytes its dims and dtype need (no negative dims; computed without overflow).
inline bool data_size_matches(const CheckpointEntry& e) {
    std::uint64_t need = dtype_size(e.dtype);
    const std::uint64_t have = e.data.size();
    bool zero = false;
    for (index_t d : e.dims) {
        if (d < 0) return false;
        zero = zero || d == 0;
    }
    if (zero) return have == 0;
    for (index_t d : e.dims) {
        if (need > have / static_cast<std::uint64_t>(d)) return false;
        need *= static_cast<std::uint64_t>(d);
    }
    return need == have;
}

/// Element `i` of `e`, converted to R.
template <class R>
R element_as(const CheckpointEntry& e, index_t i) {
    auto load = [&](auto v) {
        std::memcpy(&v, e.data.data() + static_cast<std::size_t>(i) * sizeof(v), sizeof(v));
        return static_cast<R>(v);
    };
    switch (e.dtype) {
        case DType::f32: return load(float{});
        case DType::f64: return load(double{});
        case DType::i64: return load(std::int64_t{});
        case DType::u64: return load(std::uint64_t{});
        case DType::u8: return load(std::uint8_t{});
    }
    return R{};
}

/// Copies `e` (same element count, any numeric dtype) into `dst`, converting to T when the dtypes differ.
template <class T>
void copy_entry(const CheckpointEntry& e, Tensor<T>& dst) {
    if (e.dtype == dtype_of<T>()) {
        if (!e.data.empty()) std::memcpy(dst.data(), e.data.data(), e.data.size());
        return;
    }
    for (index_t i = 0; i < dst.numel(); ++i) dst[i] = element_as<T>(e, i);
}

/// Something a load writes into: a tensor under a name, of a kind ("parameter", "buffer") for messages.
template <class T>
struct LoadTarget {
    std::string name;
    Tensor<T>* tensor;
    const char* kind;
};

/// The problems found while validating a load, thrown together as one CheckpointMismatch.
class Problems {
public:
    /// The kinds of problem, in the order the message lists them.
    enum Kind { missing, unexpected, shape, dtype };
    /// Lines listed per kind before "... and N more".
    static constexpr std::size_t shown_per_kind = 10;

    /// Records a problem of `kind` about target `name` (without the prefix), described by `args`.
    template <class... Args>
    void add(Kind kind, const std::string& name, Args&&... args) {
        names_[kind].push_back(name);
        lines_[kind].push_back(strata::detail::concat(std::forward<Args>(args)...));
    }
    /// Throws a CheckpointMismatch whose message is `header`, the counts, then one line per problem (the first
    /// shown_per_kind of each kind, then a count of the rest) and `hint`. Does nothing when there are none.
    void throw_if_any(const std::string& header, const std::string& hint) const {
        std::size_t total = 0;
        for (const auto& l : lines_) total += l.size();
        if (total == 0) return;
        static const char* const labels[] = {"missing", "unexpected", "shape", "dtype"};
        std::string msg = strata::detail::concat(header, ": ", lines_[missing].size(), " missing, ",
                                                 lines_[unexpected].size(), " unexpected, ", lines_[shape].size(),
                                                 " with another shape, ", lines_[dtype].size(),
                                                 " with another dtype");
        for (int k = missing; k <= dtype; ++k) {
            const auto& list = lines_[k];
            const std::size_t shown = std::min(list.size(), shown_per_kind);
            for (std::size_t i = 0; i < shown; ++i) msg += strata::detail::concat("\n  ", labels[k], ": ", list[i]);
            if (shown < list.size())
                msg += strata::detail::concat("\n  ... and ", list.size() - shown, " more ", labels[k]);
        }
        if (!hint.empty()) msg += "\n" + hint;
        throw CheckpointMismatch(msg, names_[missing], names_[unexpected], names_[shape], names_[dtype]);
    }

private:
    std::vector<std::string> lines_[4];
    std::vector<std::string> names_[4];
};

/// The bytes of a checkpoint file holding `entries`.
inline std::vector<std::uint8_t> serialize_checkpoint(const std::vector<CheckpointEntry>& entries,
                                                      std::uint32_t version) {
    std::size_t total = min_checkpoint_bytes;
    for (const auto& e : entries) total += 4 + e.name.size() + 2 + 8 * e.dims.size() + 8 + e.data.size();
    std::vector<std::uint8_t> out;
    out.reserve(total);
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(checkpoint_magic[i]));
    put_le(out, version, 4);
    put_le(out, entries.size(), 8);
    for (const auto& e : entries) {
        put_le(out, e.name.size(), 4);
        out.insert(out.end(), e.name.begin(), e.name.end());
        put_le(out, static_cast<std::uint8_t>(e.dtype), 1);
        put_le(out, e.dims.size(), 1);
        for (index_t d : e.dims) put_le(out, static_cast<std::uint64_t>(d), 8);
        put_le(out, e.data.size(), 8);
        const std::size_t at = out.size();
        out.insert(out.end(), e.data.begin(), e.data.end());
        host_to_le_inplace(out.data() + at, e.data.size() / dtype_size(e.dtype), dtype_size(e.dtype));
    }
    put_le(out, crc32(out.data(), out.size()), 4);
    return out;
}

/// Parses and validates checkpoint bytes (see the file comment); throws FormatError naming `source`.
inline std::vector<CheckpointEntry> parse_checkpoint(const std::uint8_t* data, std::size_t size,
                                                     const std::string& source, std::uint32_t supported) {
    auto fail = [&](auto&&... args) { throw FormatError(strata::detail::concat(source, ": ", args...)); };
    if (size == 0) fail("empty file, not a strata checkpoint");
    if (std::memcmp(data, checkpoint_magic, std::min<std::size_t>(size, 8)) != 0)
        fail("not a strata checkpoint (the file does not start with \"STRATACK\")");
    if (size < 12) fail("truncated: the file has ", size, " bytes, a checkpoint has at least ", min_checkpoint_bytes);
    const auto version = static_cast<std::uint32_t>(get_le(data + 8, 4));
    if (version == 0) fail("invalid format version 0");
    if (version > supported)
        fail("format version ", version, " is newer than this strata supports (", supported, ")");
    if (size < min_checkpoint_bytes)
        fail("truncated: the file has ", size, " bytes, a checkpoint has at least ", min_checkpoint_bytes);

    LeCursor cur(data, size - 4, source);  // the last 4 bytes are the checksum
    cur.take(12, "header");
    const std::uint64_t count = cur.uint(8, "the entry count");
    if (count > cur.remaining() / min_entry_bytes)
        fail("entry count ", count, " cannot fit in the ", cur.remaining(),
             " bytes that follow (an entry takes at least ", min_entry_bytes, "); the file is truncated or corrupt");
    std::vector<CheckpointEntry> entries;
    entries.reserve(static_cast<std::size_t>(count));
    std::unordered_set<std::string> seen;
    for (std::uint64_t i = 0; i < count; ++i) {
        std::string label = "entry " + std::to_string(i);
        const std::size_t at = cur.offset();
        const std::uint64_t name_len = cur.uint(4, label + " name length");
        if (name_len == 0 || name_len > max_name_bytes)
            fail(label, " at offset ", at, ": invalid name length ", name_len, " (1 to ", max_name_bytes, ")");
        const std::uint8_t* name_bytes = cur.take(name_len, label + " name");
        CheckpointEntry e;
        e.name.assign(reinterpret_cast<const char*>(name_bytes), static_cast<std::size_t>(name_len));
        label += " ('" + e.name + "')";
        const std::uint64_t code = cur.uint(1, label + " dtype");
        if (code < 1 || code > 5) fail(label, ": unknown dtype code ", code, " at offset ", cur.offset() - 1);
        e.dtype = static_cast<DType>(code);
        const std::uint64_t rank = cur.uint(1, label + " rank");
        if (rank > max_rank) fail(label, ": rank ", rank, " is more than ", max_rank);
        // Bytes the shape needs, capped: anything beyond the remaining file is an error anyway.
        std::uint64_t need = dtype_size(e.dtype);
        bool too_big = false;
        for (std::uint64_t k = 0; k < rank; ++k) {
            const auto d = static_cast<std::int64_t>(cur.uint(8, label + " dims"));
            if (d < 0) fail(label, ": negative dimension ", d);
            e.dims.push_back(d);
            const auto ud = static_cast<std::uint64_t>(d);
            if (ud != 0 && need > (std::uint64_t{1} << 62) / ud) too_big = true;
            else need *= ud;
        }
        if (std::find(e.dims.begin(), e.dims.end(), 0) != e.dims.end()) {  // an empty array, whatever the others
            need = 0;
            too_big = false;
        }
        const std::uint64_t byte_len = cur.uint(8, label + " byte length");
        if (too_big || need != byte_len)
            fail(label, ": byte length ", byte_len, " does not match shape ", e.shape_string(), " of ",
                 dtype_name(e.dtype), too_big ? "" : strata::detail::concat(" (", need, " bytes)"));
        const std::uint8_t* payload = cur.take(byte_len, label + " data");
        if (!seen.insert(e.name).second) fail(label, ": duplicate entry name");
        e.data.assign(payload, payload + byte_len);
        host_to_le_inplace(e.data.data(), e.data.size() / dtype_size(e.dtype), dtype_size(e.dtype));
        entries.push_back(std::move(e));
    }
    if (cur.remaining() != 0)
        fail(cur.remaining(), " unexpected bytes after the last entry (offset ", cur.offset(),
             "); the file is corrupt");
    const auto stored = static_cast<std::uint32_t>(get_le(data + size - 4, 4));
    const std::uint32_t computed = crc32(data, size - 4);
    if (stored != computed)
        fail("checksum mismatch: the file says ", checksum_hex(stored), " but its contents give ",
             checksum_hex(computed), "; the file is corrupt");
    return entries;
}

}  // namespace detail

}  // namespace strata::io
