#pragma once
/// @file
/// Checkpoint: an ordered list of named arrays (f32, f64, i64, u64, u8), saved atomically in strata's own
/// checksummed binary format (docs/checkpoint-format.md) and validated completely before anything is loaded.
///
/// Sections by name prefix (conventions, not enforced): "model." (parameters and buffers, from_module /
/// load_into), "optim." (optimizer state tensors, add_optimizer / load_optimizer), "sched." (schedule states as
/// f64 arrays, add_doubles / get_doubles), "rng." (generators), "meta." (epoch, step, ...), anything else.
///
/// ```
/// io::Checkpoint ck = io::Checkpoint::from_module(*net);      // "model.conv1.weight", ...
/// ck.add_optimizer(opt);                                      // "optim.group.0.param.0.momentum_buffer", ...
/// ck.add_doubles("sched.lr", schedule.state());
/// ck.add_generator("rng.data", gen);
/// ck.add_scalar("meta.epoch", epoch);
/// ck.save("run/last.ck");                                     // atomic
///
/// const io::Checkpoint in = io::Checkpoint::load("run/last.ck");  // validates the whole file
/// in.load_into(*net);                                          // validates every name/dtype/shape, then copies
/// in.load_optimizer(opt);
/// schedule.load_state(in.get_doubles("sched.lr"));
/// gen = in.get_generator("rng.data");
/// ```

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "strata/io/atomic_file.hpp"
#include "strata/io/checkpoint_format.hpp"
#include "strata/io/crc32.hpp"
#include "strata/nn/module.hpp"
#include "strata/core/options.hpp"

namespace strata::io {

/// Options of Checkpoint::load_into / load_optimizer / load_tensors.
struct LoadOptions {
    /// Strict: every target needs an entry and every entry under the prefix needs a target (else an error).
    /// Non-strict: loads the matching names and reports the missing and unexpected ones.
    STRATA_ARG(bool, strict) = true;
    /// The section the targets' names are looked up in ("model." + "conv1.weight").
    STRATA_ARG(std::string, prefix) = "model.";
    /// Accept f32/f64/i64 entries for targets of another floating type, converting (off: a dtype mismatch is an
    /// error).
    STRATA_ARG(bool, convert_dtype) = false;
    /// Non-strict only: skip (and report) entries whose dtype or shape does not fit instead of throwing.
    STRATA_ARG(bool, skip_mismatched) = false;
};

/// What a load did. Names are the targets' names (without the prefix).
struct LoadReport {
    std::vector<std::string> loaded;      ///< targets that were overwritten
    std::vector<std::string> missing;     ///< targets without an entry (non-strict)
    std::vector<std::string> unexpected;  ///< entries under the prefix without a target (non-strict)
    std::vector<std::string> mismatched;  ///< targets skipped for a dtype or shape mismatch (skip_mismatched)
    /// Whether every target was loaded from an entry and every entry was used.
    bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
};

/// An ordered list of uniquely named arrays; see the file comment.
class Checkpoint {
public:
    /// The format version this strata writes and the newest it reads.
    static constexpr std::uint32_t format_version = 1;

    Checkpoint() = default;
    /// A checkpoint of prepared entries (in host byte order), read from `source` (named in errors). Throws
    /// ArgumentError on an invalid or duplicate name, a rank over 32 or data of the wrong size for the shape.
    /// @throws ArgumentError for an invalid or duplicate name, a rank over 32 or a data size that does not fit
    /// the shape.
    Checkpoint(std::vector<CheckpointEntry> entries, std::string source) : source_(std::move(source)) {
        for (auto& e : entries) {
            check<ArgumentError>(detail::data_size_matches(e),
                                 "Checkpoint: entry '", e.name, "' of shape ", e.shape_string(), " and dtype ",
                                 dtype_name(e.dtype), " has ", e.data.size(), " data bytes");
            add_entry(std::move(e));
        }
    }

    // ---- adding entries (ArgumentError on an empty or duplicate name, or a name over 65535 bytes) ----------

    /// Adds `numel(dims)` elements at `data` (float, double, int64_t, uint64_t or uint8_t) with shape `dims`.
    /// @throws ArgumentError for a negative dimension, more than 32 dimensions, or a name that is empty, over 65535
    /// bytes or already taken.
    template <class U>
    void add_array(const std::string& name, const U* data, std::vector<index_t> dims) {
        const DType dtype = dtype_of<U>();
        index_t n = 1;
        for (index_t d : dims) {
            check<ArgumentError>(d >= 0, "Checkpoint::add_array('", name, "'): negative dimension ", d);
            n *= d;
        }
        CheckpointEntry e{name, dtype, std::move(dims), {}};
        e.data.resize(static_cast<std::size_t>(n) * sizeof(U));
        if (n > 0) std::memcpy(e.data.data(), data, e.data.size());
        add_entry(std::move(e));
    }
    /// Adds a tensor (dtype f32 for float, f64 for double) with its shape.
    /// @throws ArgumentError when `name` is empty, longer than 65535 bytes or already taken.
    template <class T>
    void add_tensor(const std::string& name, TensorView<const T> t) {
        add_array<T>(name, t.data(), std::vector<index_t>(t.shape().begin(), t.shape().end()));
    }
    /// Adds a tensor (dtype f32 for float, f64 for double) with its shape.
    /// @throws ArgumentError when `name` is empty, longer than 65535 bytes or already taken.
    template <class T>
    void add_tensor(const std::string& name, const Tensor<T>& t) {
        add_tensor<T>(name, t.view());
    }
    /// Adds a rank-0 entry: f32/f64 for float/double, i64 for signed integers, u64 for unsigned ones, u8 for bool.
    /// @throws ArgumentError when `name` is empty, longer than 65535 bytes or already taken.
    template <class S>
    void add_scalar(const std::string& name, S value) {
        static_assert(std::is_arithmetic_v<S>, "add_scalar needs an arithmetic value");
        using Integer = std::conditional_t<std::is_signed_v<S>, std::int64_t, std::uint64_t>;
        using Floating = std::conditional_t<std::is_same_v<S, float>, float, double>;
        using Stored = std::conditional_t<std::is_same_v<S, bool>, std::uint8_t,
                                          std::conditional_t<std::is_floating_point_v<S>, Floating, Integer>>;
        const auto v = static_cast<Stored>(value);
        add_array<Stored>(name, &v, {});
    }
    /// Adds a string as a rank-1 u8 entry of its bytes.
    /// @throws ArgumentError when `name` is empty, longer than 65535 bytes or already taken.
    void add_string(const std::string& name, const std::string& value) {
        add_array<std::uint8_t>(name, reinterpret_cast<const std::uint8_t*>(value.data()),
                                {static_cast<index_t>(value.size())});
    }
    /// Adds doubles as a rank-1 f64 entry (for schedule states).
    /// @throws ArgumentError when `name` is empty, longer than 65535 bytes or already taken.
    void add_doubles(const std::string& name, const std::vector<double>& values) {
        add_array<double>(name, values.data(), {static_cast<index_t>(values.size())});
    }
    /// Adds a generator's complete state as a u64 entry of shape [6]: the four xoshiro words, the bits of the
    /// cached normal deviate and the has-cached flag (0 or 1).
    /// @throws ArgumentError when `name` is empty, longer than 65535 bytes or already taken.
    void add_generator(const std::string& name, const Generator& gen) {
        const Generator::State& s = gen.state();
        std::uint64_t words[6] = {s.words[0], s.words[1], s.words[2], s.words[3], 0, s.has_cached_normal ? 1u : 0u};
        std::memcpy(&words[4], &s.cached_normal, sizeof(double));
        add_array<std::uint64_t>(name, words, {6});
    }
    /// Adds every parameter and buffer of `module` as `prefix` + its dotted name (dtype of T), in the module's
    /// order (parameters, then buffers).
    /// @throws ArgumentError when a resulting name is already taken (or over 65535 bytes).
    template <class T>
    void add_module(const nn::Module<T>& module, const std::string& prefix = "model.") {
        for (auto& np : module.named_parameters()) add_tensor<T>(prefix + np.name, np.parameter->value);
        for (auto& nb : module.named_buffers()) add_tensor<T>(prefix + nb.name, *nb.buffer);
    }
    /// A checkpoint holding add_module(module, prefix).
    /// @throws ArgumentError when a resulting name is over 65535 bytes.
    template <class T>
    static Checkpoint from_module(const nn::Module<T>& module, const std::string& prefix = "model.") {
        Checkpoint ck;
        ck.add_module(module, prefix);
        return ck;
    }
    /// Adds named tensors `prefix + e.first` from a range of pairs (name, Tensor<T>*), e.g. an optimizer's
    /// state_tensors().
    /// @throws ArgumentError when a resulting name is empty, over 65535 bytes or already taken.
    template <class Range>
    void add_tensors(const std::string& prefix, const Range& named) {
        for (const auto& e : named) add_tensor(prefix + e.first, *e.second);
    }
    /// Adds an optimizer's state: any `opt` with `state_tensors()` returning (name, Tensor<T>*) pairs.
    /// @throws ArgumentError when a resulting name is already taken (or over 65535 bytes).
    template <class Optimizer>
    void add_optimizer(Optimizer& opt, const std::string& prefix = "optim.") {
        add_tensors(prefix, opt.state_tensors());
    }
    /// Removes the entry `name`; returns whether there was one.
    bool remove(const std::string& name) {
        auto it = index_.find(name);
        if (it == index_.end()) return false;
        entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(it->second));
        reindex();
        return true;
    }

    // ---- reading entries (ArgumentError for a missing name, FormatError for a wrong dtype or shape) ---------

    /// The entries in order.
    const std::vector<CheckpointEntry>& entries() const { return entries_; }
    /// Whether there is an entry `name`.
    bool has(const std::string& name) const { return index_.count(name) != 0; }
    /// The names of the entries starting with `prefix`, in order.
    std::vector<std::string> names(const std::string& prefix = "") const {
        std::vector<std::string> out;
        for (const auto& e : entries_)
            if (e.name.compare(0, prefix.size(), prefix) == 0) out.push_back(e.name);
        return out;
    }
    /// The entry `name`; throws ArgumentError naming it when absent.
    /// @throws ArgumentError when there is no entry `name`, naming it and the source.
    const CheckpointEntry& entry(const std::string& name) const {
        auto it = index_.find(name);
        check<ArgumentError>(it != index_.end(), "checkpoint ", source_, " has no entry '", name, "'");
        return entries_[it->second];
    }
    /// Entry `name` as a tensor; its dtype must be T's (f32/f64) and its rank at most Shape::max_rank.
    /// @throws ArgumentError when there is no entry `name`.
    /// @throws FormatError when its dtype is not T's or its rank is over Shape::max_rank, naming both.
    template <class T>
    Tensor<T> get_tensor(const std::string& name) const {
        const CheckpointEntry& e = typed(name, dtype_of<T>());
        check<FormatError>(e.dims.size() <= static_cast<std::size_t>(Shape::max_rank), "checkpoint ", source_,
                           ": entry '", name, "' has rank ", e.dims.size(), ", more than a tensor's ", Shape::max_rank);
        Tensor<T> t(Shape(e.dims.begin(), e.dims.end()));
        if (!e.data.empty()) std::memcpy(t.data(), e.data.data(), e.data.size());
        return t;
    }
    /// The single value of rank-0 entry `name` as S: integral S from an i64/u64/u8 entry whose value S can hold,
    /// floating S from an f32/f64 entry.
    /// @throws ArgumentError when there is no entry `name`.
    /// @throws FormatError when the entry is not rank 0, is integer for a floating S (or the reverse), or its value
    /// does not fit S, naming the value.
    template <class S>
    S get_scalar(const std::string& name) const {
        static_assert(std::is_arithmetic_v<S>, "get_scalar needs an arithmetic type");
        const CheckpointEntry& e = entry(name);
        check<FormatError>(e.dims.empty(), "checkpoint ", source_, ": entry '", name, "' has shape ",
                           e.shape_string(), ", expected a scalar (shape [])");
        const bool floating = e.dtype == DType::f32 || e.dtype == DType::f64;
        check<FormatError>(floating == std::is_floating_point_v<S>, "checkpoint ", source_, ": entry '", name,
                           "' has dtype ", dtype_name(e.dtype), ", not ", floating ? "an integer" : "a floating type");
        if constexpr (std::is_floating_point_v<S>) {
            return static_cast<S>(detail::element_as<double>(e, 0));
        } else {
            // Compare in the wider of int64 / uint64 so that the range check itself cannot overflow.
            const bool is_unsigned = e.dtype == DType::u64 || e.dtype == DType::u8;
            const auto u = detail::element_as<std::uint64_t>(e, 0);
            const auto i = detail::element_as<std::int64_t>(e, 0);
            const auto max = static_cast<std::uint64_t>(std::numeric_limits<S>::max());
            const auto min = static_cast<std::int64_t>(std::numeric_limits<S>::min());
            const bool fits = is_unsigned ? u <= max
                                          : i >= 0 ? static_cast<std::uint64_t>(i) <= max : std::is_signed_v<S> && i >= min;
            check<FormatError>(fits, "checkpoint ", source_, ": entry '", name, "' value ",
                               is_unsigned ? std::to_string(u) : std::to_string(i), " does not fit the requested type");
            return static_cast<S>(is_unsigned ? u : static_cast<std::uint64_t>(i));
        }
    }
    /// The string of rank-1 u8 entry `name`.
    /// @throws ArgumentError when there is no entry `name`; FormatError when it is not a rank-1 u8 entry.
    std::string get_string(const std::string& name) const {
        const CheckpointEntry& e = typed(name, DType::u8, 1);
        return std::string(e.data.begin(), e.data.end());
    }
    /// The values of rank-1 f64 entry `name`.
    /// @throws ArgumentError when there is no entry `name`; FormatError when it is not a rank-1 f64 entry.
    std::vector<double> get_doubles(const std::string& name) const {
        const CheckpointEntry& e = typed(name, DType::f64, 1);
        std::vector<double> out(e.data.size() / sizeof(double));
        if (!out.empty()) std::memcpy(out.data(), e.data.data(), e.data.size());
        return out;
    }
    /// The generator saved by add_generator(name, ...); FormatError unless the entry is u64 [6] with flag 0/1.
    /// @throws ArgumentError when there is no entry `name`.
    /// @throws FormatError unless the entry is u64 [6] with a 0/1 flag and a non-zero state, naming the problem.
    Generator get_generator(const std::string& name) const {
        const CheckpointEntry& e = typed(name, DType::u64, 1);
        check<FormatError>(e.dims[0] == 6, "checkpoint ", source_, ": generator entry '", name, "' has shape ",
                           e.shape_string(), ", expected [6]");
        std::uint64_t w[6];
        std::memcpy(w, e.data.data(), sizeof w);
        check<FormatError>(w[5] <= 1, "checkpoint ", source_, ": generator entry '", name,
                           "' has an invalid cached-normal flag ", w[5]);
        check<FormatError>(w[0] | w[1] | w[2] | w[3], "checkpoint ", source_, ": generator entry '", name,
                           "' has an all-zero state, which xoshiro256** cannot have");
        Generator::State s;
        for (int i = 0; i < 4; ++i) s.words[static_cast<std::size_t>(i)] = w[i];
        std::memcpy(&s.cached_normal, &w[4], sizeof(double));
        s.has_cached_normal = w[5] == 1;
        Generator gen;
        gen.set_state(s);
        return gen;
    }

    // ---- loading into objects: every name, dtype and shape is checked before anything is written ----------

    /// Loads the parameters and buffers of `module` from the entries `options.prefix() + name`. Throws (leaving
    /// the module unchanged) one CheckpointMismatch for every problem together: a missing entry or (strict) an
    /// unexpected entry under the prefix, a dtype mismatch, a shape mismatch (naming the entry and both values).
    /// @throws CheckpointMismatch (a FormatError and a ShapeError) whose message starts with the counts of
    /// missing, unexpected, shape- and dtype-mismatched entries, then one problem per line (10 of each kind).
    template <class T>
    LoadReport load_into(nn::Module<T>& module, const LoadOptions& options = LoadOptions()) const {
        std::vector<detail::LoadTarget<T>> targets;
        for (auto& np : module.named_parameters()) targets.push_back({np.name, &np.parameter->value, "parameter"});
        for (auto& nb : module.named_buffers()) targets.push_back({nb.name, nb.buffer, "buffer"});
        const std::string hint =
            options.strict() ? "(LoadOptions().strict(false) loads only the entries that match" +
                                   (has("arch.format") ? "; models::load_model(\"" + source_ +
                                                             "\") rebuilds the model this file was saved from)"
                                                       : std::string(")"))
                             : std::string();
        return load_targets(targets, options, "the model", hint);
    }
    /// Loads named tensors (a range of (name, Tensor<T>*) pairs) from `options.prefix() + name`, like load_into.
    /// @throws CheckpointMismatch as load_into().
    template <class Range>
    LoadReport load_tensors(const Range& named, const LoadOptions& options) const {
        using T = typename std::remove_pointer_t<std::decay_t<decltype(std::begin(named)->second)>>::value_type;
        std::vector<detail::LoadTarget<T>> targets;
        for (const auto& e : named) targets.push_back({e.first, e.second, "state tensor"});
        return load_targets(targets, options, "the state tensors");
    }
    /// Loads an optimizer's state saved by add_optimizer(opt, prefix): calls `opt.init_state()` (so that every
    /// state tensor the options need exists), then load_tensors(opt.state_tensors(), ...) with that prefix and
    /// strictness. Any `opt` with init_state() and state_tensors() (optim::Optimizer) works.
    /// @throws CheckpointMismatch as load_into(); what opt.init_state() throws.
    template <class Optimizer>
    LoadReport load_optimizer(Optimizer& opt, const std::string& prefix = "optim.", bool strict = true) const {
        opt.init_state();
        return load_tensors(opt.state_tensors(), LoadOptions().prefix(prefix).strict(strict));
    }

    // ---- the binary format ---------------------------------------------------------------------------------

    /// The checkpoint in the binary format of docs/checkpoint-format.md.
    std::vector<std::uint8_t> to_bytes() const { return detail::serialize_checkpoint(entries_, format_version); }
    /// Parses and validates a whole checkpoint (magic, version, every length against the bytes left, names,
    /// dtypes, checksum); throws FormatError naming `source`, the offset and the problem.
    /// @throws FormatError for any malformed input (see docs/checkpoint-format.md), naming `source` and the offset.
    static Checkpoint from_bytes(const std::uint8_t* data, std::size_t size, const std::string& source = "<memory>") {
        Checkpoint ck;
        ck.source_ = source;
        ck.entries_ = detail::parse_checkpoint(data, size, source, format_version);
        ck.reindex();
        return ck;
    }
    /// from_bytes of a byte vector.
    /// @throws FormatError as from_bytes(data, size, source).
    static Checkpoint from_bytes(const std::vector<std::uint8_t>& bytes, const std::string& source = "<memory>") {
        return from_bytes(bytes.data(), bytes.size(), source);
    }
    /// Saves atomically to `path` (atomic_write_file); throws IoError naming the path, the old file stays intact.
    /// @throws IoError naming the path, the failed step and strerror; the previous file stays intact.
    void save(const std::string& path) const { atomic_write_file(path, to_bytes()); }
    /// Reads and validates the checkpoint at `path`: IoError when it cannot be read, FormatError when invalid.
    /// @throws IoError when the file cannot be opened or read.
    /// @throws FormatError when it is not a valid checkpoint (or over 64 GiB), naming the path and the offset.
    static Checkpoint load(const std::string& path) { return from_bytes(read_whole_file(path), path); }
    /// Where the checkpoint was read from ("<memory>" for a new one).
    const std::string& source() const { return source_; }

private:
    void add_entry(CheckpointEntry e) {
        check<ArgumentError>(!e.name.empty() && e.name.size() <= detail::max_name_bytes,
                             "Checkpoint: entry names must have 1 to ", detail::max_name_bytes, " bytes, got ",
                             e.name.size());
        check<ArgumentError>(e.dims.size() <= detail::max_rank, "Checkpoint: entry '", e.name, "' has rank ",
                             e.dims.size(), ", more than ", detail::max_rank);
        check<ArgumentError>(!has(e.name), "Checkpoint: already has an entry '", e.name, "'");
        index_.emplace(e.name, entries_.size());
        entries_.push_back(std::move(e));
    }
    void reindex() {
        index_.clear();
        for (std::size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].name, i);
    }
    const CheckpointEntry& typed(const std::string& name, DType dtype, int rank = -1) const {
        const CheckpointEntry& e = entry(name);
        check<FormatError>(e.dtype == dtype, "checkpoint ", source_, ": entry '", name, "' has dtype ",
                           dtype_name(e.dtype), ", expected ", dtype_name(dtype));
        check<FormatError>(rank < 0 || e.dims.size() == static_cast<std::size_t>(rank), "checkpoint ", source_,
                           ": entry '", name, "' has shape ", e.shape_string(), ", expected rank ", rank);
        return e;
    }

    template <class T>
    LoadReport load_targets(const std::vector<detail::LoadTarget<T>>& targets, const LoadOptions& o,
                            const char* what, const std::string& hint = "") const {
        LoadReport report;
        detail::Problems problems;
        std::vector<std::pair<const CheckpointEntry*, Tensor<T>*>> plan;
        std::unordered_set<std::string> wanted;
        const bool skip = !o.strict() && o.skip_mismatched();
        for (const auto& t : targets) {
            wanted.insert(t.name);
            const std::string key = o.prefix() + t.name;
            auto it = index_.find(key);
            if (it == index_.end()) {
                if (o.strict())
                    problems.add(detail::Problems::missing, t.name, "'", key, "' for ", t.kind, " of shape ",
                                 t.tensor->shape());
                else
                    report.missing.push_back(t.name);
                continue;
            }
            const CheckpointEntry& e = entries_[it->second];
            const bool numeric = e.dtype == DType::f32 || e.dtype == DType::f64 || e.dtype == DType::i64;
            const bool dtype_ok = e.dtype == dtype_of<T>() || (o.convert_dtype() && numeric);
            const bool shape_ok = e.dims.size() == static_cast<std::size_t>(t.tensor->rank()) &&
                                  std::equal(e.dims.begin(), e.dims.end(), t.tensor->shape().begin());
            if (dtype_ok && shape_ok) {
                plan.emplace_back(&e, t.tensor);
            } else if (skip) {
                report.mismatched.push_back(t.name);
            } else if (!dtype_ok) {
                problems.add(detail::Problems::dtype, t.name, "'", key, "' is ", dtype_name(e.dtype), " in the file, ",
                             dtype_name(dtype_of<T>()), " in ", what);
            } else {
                problems.add(detail::Problems::shape, t.name, "'", key, "' is ", e.shape_string(), " in the file, ",
                             t.tensor->shape(), " in ", what, " (", t.kind, ")");
            }
        }
        for (const auto& e : entries_) {
            if (e.name.compare(0, o.prefix().size(), o.prefix()) != 0) continue;
            const std::string rest = e.name.substr(o.prefix().size());
            if (wanted.count(rest)) continue;
            if (o.strict())
                problems.add(detail::Problems::unexpected, rest, "'", e.name, "' (", dtype_name(e.dtype), " ",
                             e.shape_string(), "), not in ", what);
            else
                report.unexpected.push_back(rest);
        }
        problems.throw_if_any("load: " + source_ + " does not match " + what, hint);
        for (auto& [e, tensor] : plan) {
            detail::copy_entry(*e, *tensor);
            report.loaded.push_back(e->name.substr(o.prefix().size()));
        }
        return report;
    }

    std::vector<CheckpointEntry> entries_;
    std::unordered_map<std::string, std::size_t> index_;
    std::string source_ = "<memory>";
};

}  // namespace strata::io
