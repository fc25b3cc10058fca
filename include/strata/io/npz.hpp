#pragma once
/// @file
/// NumPy .npz interop with PyTorch's state_dict names: save_npz writes a module's parameters and buffers under
/// their dotted (torchvision) names, load_npz loads them back, validating the whole file and every name, dtype
/// and shape before it touches the module.
///
/// Arrays are .npy v1.0/v2.0 members "<name>.npy" with descr '<f4', '<f8' or '<i8' in C order; BatchNorm's
/// num_batches_tracked is '<i8' of shape () as in PyTorch (a rank-0 T tensor in strata). Into PyTorch:
///
///     model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load("net.npz").items()})
///
/// and out of PyTorch: np.savez("net.npz", **{k: v.numpy() for k, v in model.state_dict().items()}).

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "strata/io/checkpoint.hpp"
#include "strata/io/zip.hpp"

namespace strata::io {

namespace detail {

/// The parsed header dict of a .npy array.
struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    std::vector<index_t> shape;
};

/// Parses the Python-literal header dict "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".
class NpyHeaderParser {
public:
    /// A parser of header `text`; `where` (file and entry) starts its error messages.
    NpyHeaderParser(std::string text, std::string where) : s_(std::move(text)), where_(std::move(where)) {}

    /// The header's fields; FormatError for malformed text, a missing, repeated or unknown key.
    NpyHeader parse() {
        NpyHeader h;
        bool descr = false, fortran = false, shape = false;
        expect('{');
        while (!eat('}')) {
            const std::string key = string();
            expect(':');
            if (key == "descr" && !descr) {
                h.descr = string();
                descr = true;
            } else if (key == "fortran_order" && !fortran) {
                h.fortran_order = boolean();
                fortran = true;
            } else if (key == "shape" && !shape) {
                h.shape = tuple();
                shape = true;
            } else {
                bad("unexpected or repeated key '" + key + "'");
            }
            if (!eat(',')) {
                expect('}');
                break;
            }
        }
        ws();
        if (i_ != s_.size()) bad("text after the closing '}'");
        if (!descr || !fortran || !shape) bad("it needs the keys 'descr', 'fortran_order' and 'shape'");
        return h;
    }

private:
    [[noreturn]] void bad(const std::string& what) const {
        throw FormatError(where_ + ": malformed .npy header (" + what + "): " + s_);
    }
    void ws() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    bool eat(char c) {
        ws();
        if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
        return false;
    }
    void expect(char c) {
        if (!eat(c)) bad(std::string("expected '") + c + "' at position " + std::to_string(i_));
    }
    std::string string() {
        ws();
        if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) bad("expected a quoted string");
        const char q = s_[i_++];
        const std::size_t end = s_.find(q, i_);
        if (end == std::string::npos) bad("unterminated string");
        std::string out = s_.substr(i_, end - i_);
        i_ = end + 1;
        return out;
    }
    bool boolean() {
        ws();
        for (const char* word : {"True", "False"})
            if (s_.compare(i_, std::strlen(word), word) == 0) {
                i_ += std::strlen(word);
                return word[0] == 'T';
            }
        bad("expected True or False");
    }
    std::vector<index_t> tuple() {
        std::vector<index_t> dims;
        expect('(');
        while (!eat(')')) {
            ws();
            std::uint64_t v = 0;
            const std::size_t start = i_;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
                v = v * 10 + static_cast<std::uint64_t>(s_[i_++] - '0');
                if (v > (std::uint64_t{1} << 62)) bad("dimension too large");
            }
            if (i_ == start) bad("expected a non-negative integer in the shape");
            eat('L');  // Python 2's long suffix
            dims.push_back(static_cast<index_t>(v));
            if (dims.size() > max_rank) bad("more than " + std::to_string(max_rank) + " dimensions");
            if (!eat(',')) {
                expect(')');
                break;
            }
        }
        return dims;
    }

    std::string s_;
    std::string where_;
    std::size_t i_ = 0;
};

/// The entry of one .npy member (name without ".npy"); FormatError naming `source` and the member.
inline CheckpointEntry parse_npy(const ZipEntry& member, const std::string& source) {
    const std::string where = source + ": entry '" + member.name + "'";
    const std::vector<std::uint8_t>& b = member.data;
    auto fail = [&](auto&&... args) { throw FormatError(strata::detail::concat(where, ": ", args...)); };
    if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0) fail("not a .npy array (bad magic)");
    const unsigned major = b[6], minor = b[7];
    if ((major != 1 && major != 2) || minor != 0)
        fail(".npy format version ", major, ".", minor, " is not supported (1.0 and 2.0 are)");
    const std::size_t start = major == 1 ? 10 : 12;
    if (b.size() < start) fail("truncated .npy header");
    const std::uint64_t hlen = get_le(b.data() + 8, major == 1 ? 2 : 4);
    if (hlen > b.size() - start) fail("truncated: the .npy header of ", hlen, " bytes runs past the member's end");
    const NpyHeader h = NpyHeaderParser(std::string(b.begin() + static_cast<std::ptrdiff_t>(start),
                                                    b.begin() + static_cast<std::ptrdiff_t>(start + hlen)),
                                        where)
                            .parse();
    CheckpointEntry e;
    if (h.descr == "<f4") e.dtype = DType::f32;
    else if (h.descr == "<f8") e.dtype = DType::f64;
    else if (h.descr == "<i8") e.dtype = DType::i64;
    else fail("has dtype descr '", h.descr, "'; only '<f4', '<f8' and '<i8' are supported");
    if (h.fortran_order) fail("is stored in Fortran order (fortran_order True); only C order is supported");
    const std::uint64_t have = b.size() - start - hlen;
    std::uint64_t need = dtype_size(e.dtype);
    bool more = false;  // the shape needs more bytes than there are (computed without overflow)
    for (index_t d : h.shape) {
        const auto ud = static_cast<std::uint64_t>(d);
        if (ud != 0 && need > have / ud) more = true;
        else need *= ud;
    }
    if (std::find(h.shape.begin(), h.shape.end(), 0) != h.shape.end()) {
        need = 0;
        more = false;
    }
    e.dims = h.shape;
    if (more || need != have)
        fail("has ", have, " data bytes but shape ", e.shape_string(), " of ", h.descr, " needs ",
             more ? std::string("more") : std::to_string(need));
    e.name = member.name.size() > 4 && member.name.compare(member.name.size() - 4, 4, ".npy") == 0
                 ? member.name.substr(0, member.name.size() - 4)
                 : member.name;
    e.data.assign(b.begin() + static_cast<std::ptrdiff_t>(start + hlen), b.end());
    host_to_le_inplace(e.data.data(), e.data.size() / dtype_size(e.dtype), dtype_size(e.dtype));
    return e;
}

/// The .npy bytes (v1.0, or v2.0 for a huge header; header padded to 64 bytes) of an f32/f64/i64 entry.
inline std::vector<std::uint8_t> npy_bytes(const CheckpointEntry& e) {
    const char* descr = e.dtype == DType::f32   ? "<f4"
                        : e.dtype == DType::f64 ? "<f8"
                        : e.dtype == DType::i64 ? "<i8"
                                                : nullptr;
    check<ArgumentError>(descr != nullptr, "npz: entry '", e.name, "' has dtype ", dtype_name(e.dtype),
                         "; .npz files hold f32, f64 and i64 here");
    std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < e.dims.size(); ++i)  // Python's tuple syntax: (), (5,), (2, 3)
        dict += std::to_string(e.dims[i]) + (e.dims.size() == 1 ? "," : i + 1 < e.dims.size() ? ", " : "");
    dict += "), }";
    const bool v2 = dict.size() + 11 + 64 > 0xFFFF;
    const std::size_t pre = v2 ? 12 : 10;
    dict.append((64 - (pre + dict.size() + 1) % 64) % 64, ' ');
    dict += '\n';
    std::vector<std::uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(v2 ? 2 : 1), 0};
    put_le(out, dict.size(), v2 ? 4 : 2);
    out.insert(out.end(), dict.begin(), dict.end());
    const std::size_t at = out.size();
    out.insert(out.end(), e.data.begin(), e.data.end());
    host_to_le_inplace(out.data() + at, e.data.size() / dtype_size(e.dtype), dtype_size(e.dtype));
    return out;
}

/// Whether buffer `name` is a batch-norm step counter (int64 in PyTorch).
inline bool is_counter_buffer(const std::string& name) {
    const std::string suffix = "num_batches_tracked";
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace detail

/// Parses npz bytes into a Checkpoint whose entries are the arrays, named without ".npy" (f32, f64 or i64).
/// Throws FormatError naming `source` and the member for a malformed zip (see zip.hpp) or .npy member, an
/// unsupported descr ('>f4', '<f2', '|O', ...) or Fortran order; IoError for a deflated member without zlib.
/// @throws FormatError for a malformed zip or .npy member, an unsupported descr, Fortran order or two members
/// holding one array, naming `source` and the member.
/// @throws IoError for a deflated member when strata has no zlib.
inline Checkpoint read_npz(const std::uint8_t* data, std::size_t size, const std::string& source) {
    std::vector<CheckpointEntry> entries;
    std::unordered_set<std::string> names;
    for (const ZipEntry& m : read_zip(data, size, source)) {
        entries.push_back(detail::parse_npy(m, source));
        check<FormatError>(names.insert(entries.back().name).second, source, ": two members hold the array '",
                           entries.back().name, "'");
    }
    return Checkpoint(std::move(entries), source);
}

/// read_npz of the file at `path` (IoError when it cannot be read).
/// @throws IoError when the file cannot be opened or read; FormatError as read_npz(data, size, source).
inline Checkpoint read_npz(const std::string& path) {
    const std::vector<std::uint8_t> bytes = read_whole_file(path);
    return read_npz(bytes.data(), bytes.size(), path);
}

/// The npz bytes of the entries of `ck` (each "<name>.npy"; f32, f64 and i64 only, else ArgumentError), stored
/// or deflated (`compress`, IoError without zlib).
/// @throws ArgumentError for an entry that is not f32, f64 or i64, naming it.
/// @throws IoError when `compress` and strata has no zlib.
inline std::vector<std::uint8_t> npz_bytes(const Checkpoint& ck, bool compress = false) {
    std::vector<ZipEntry> members;
    for (const CheckpointEntry& e : ck.entries()) members.push_back({e.name + ".npy", detail::npy_bytes(e)});
    return write_zip(members, compress);
}

/// Writes npz_bytes(ck, compress) to `path` atomically (IoError naming the path on failure).
/// @throws IoError when the file cannot be written (naming the path and the failed step; the old file stays).
/// @throws ArgumentError for an entry that is not f32, f64 or i64.
inline void write_npz(const std::string& path, const Checkpoint& ck, bool compress = false) {
    atomic_write_file(path, npz_bytes(ck, compress));
}

/// The parameters and buffers of `module` as npz entries under their dotted names: '<f4' for float, '<f8' for
/// double, and every "num_batches_tracked" buffer as an '<i8' scalar (rounded), as in a PyTorch state_dict.
template <class T>
Checkpoint npz_state(const nn::Module<T>& module) {
    Checkpoint ck;
    for (auto& np : module.named_parameters()) ck.add_tensor<T>(np.name, np.parameter->value);
    for (auto& nb : module.named_buffers()) {
        if (detail::is_counter_buffer(nb.name) && nb.buffer->numel() == 1)
            ck.add_scalar(nb.name, static_cast<std::int64_t>(std::llround((*nb.buffer)[0])));
        else
            ck.add_tensor<T>(nb.name, *nb.buffer);
    }
    return ck;
}

/// Saves `module`'s state to `path` as an npz file PyTorch's load_state_dict accepts (see the file comment):
/// stored, or deflated when `compress` (IoError without zlib). Atomic; throws IoError naming the path.
/// @throws IoError when the file cannot be written, naming the path (the old file stays intact).
template <class T>
void save_npz(const std::string& path, const nn::Module<T>& module, bool compress = false) {
    write_npz(path, npz_state(module), compress);
}

/// Loads `module`'s parameters and buffers from the npz file at `path` (a PyTorch state_dict, or save_npz's
/// output), converting '<f4'/'<f8'/'<i8' to T as load_state_dict does. Validates the whole file first (see
/// read_npz), then every name, dtype and shape (Checkpoint::load_into with prefix ""), and leaves the module
/// unchanged when anything fails. Strict: every name must match both ways; non-strict loads the matching names
/// and reports the missing and unexpected ones.
/// @throws IoError when the file cannot be opened or read.
/// @throws FormatError for a malformed file, or a missing, unexpected or mistyped array (naming them all).
/// @throws ShapeError when every mismatch is a shape mismatch (naming each array and both shapes).
template <class T>
LoadReport load_npz(const std::string& path, nn::Module<T>& module, bool strict = true) {
    return read_npz(path).load_into(module, LoadOptions().prefix("").strict(strict).convert_dtype(true));
}

}  // namespace strata::io
