#pragma once
/// @file
/// Model files that carry their architecture: save_model(path, model) writes a checkpoint with the weights
/// ("model." entries) and a description of the architecture ("arch." entries, docs/checkpoint-format.md);
/// load_model<T>(path) rebuilds the net from that description and loads the weights, so a program that serves a
/// trained net needs no code for its architecture (as a TorchScript file or a serialized dlib net type).
///
/// ```
/// models::save_model("net.strata", *net);                 // any net models::make_model builds
/// auto served = models::load_model<float>("net.strata");   // in eval mode
/// ```
///
/// Every model the registry builds is covered: ResNet-18/34/50, plain-18/34, the CIFAR-style resnet/plain 6n+2
/// nets (any ResNetOptions: widths, norm, shortcut, stem) and DSN, with their auxiliary heads or with heads
/// stripped. A custom Module cannot be described: save_model says so, and what to do instead (save its weights
/// with io::Checkpoint, rebuild it in code and load them with load_into). The training checkpoints of
/// examples/train_mnist carry the same "arch." entries, so load_model reads them too.

#include <string>
#include <vector>

#include "strata/io/checkpoint.hpp"
#include "strata/models/dsn.hpp"
#include "strata/models/resnet.hpp"

namespace strata::models {

/// The version of the "arch." description this strata writes and the newest it reads.
inline constexpr std::int64_t architecture_format = 1;

namespace detail {

inline const std::vector<std::string>& norm_names() {
    static const std::vector<std::string> n{"batch", "none"};
    return n;
}
inline const std::vector<std::string>& shortcut_names() {
    static const std::vector<std::string> n{"none", "zero_pad", "projection", "always_projection"};
    return n;
}
inline const std::vector<std::string>& stem_names() {
    static const std::vector<std::string> n{"imagenet", "cifar"};
    return n;
}
inline const std::vector<std::string>& block_names() {
    static const std::vector<std::string> n{"basic", "bottleneck"};
    return n;
}
inline const std::vector<std::string>& aux_head_names() {
    static const std::vector<std::string> n{"linear", "googlenet"};
    return n;
}

/// Reads the description of a model file (one object per load: source, for the messages).
class ArchReader {
public:
    explicit ArchReader(const io::Checkpoint& ck) : ck_(ck) {}

    std::string string(const std::string& key) const { return ck_.get_string("arch." + key); }
    /// A rank-0 integer in [lo, hi].
    index_t integer(const std::string& key, index_t lo, index_t hi) const {
        const auto v = ck_.get_scalar<std::int64_t>("arch." + key);
        check<FormatError>(v >= lo && v <= hi, ck_.source(), ": arch.", key, " is ", v, ", expected ", lo, " to ", hi);
        return static_cast<index_t>(v);
    }
    /// A rank-1 i64 list of at most `max_len` values in [lo, hi].
    std::vector<index_t> list(const std::string& key, std::size_t max_len, index_t lo, index_t hi) const {
        const io::CheckpointEntry& e = ck_.entry("arch." + key);
        check<FormatError>(e.dtype == io::DType::i64 && e.dims.size() == 1, ck_.source(), ": arch.", key,
                           " is ", io::dtype_name(e.dtype), " ", e.shape_string(), ", expected an i64 list");
        check<FormatError>(static_cast<std::size_t>(e.dims[0]) <= max_len, ck_.source(), ": arch.", key, " has ",
                           e.dims[0], " values, at most ", max_len, " expected");
        std::vector<index_t> out;
        for (index_t i = 0; i < e.dims[0]; ++i) {
            const auto v = io::detail::element_as<std::int64_t>(e, i);
            check<FormatError>(v >= lo && v <= hi, ck_.source(), ": arch.", key, "[", i, "] is ", v, ", expected ",
                               lo, " to ", hi);
            out.push_back(static_cast<index_t>(v));
        }
        return out;
    }
    /// The index of string entry `key` among `names`.
    template <class Enum>
    Enum choice(const std::string& key, const std::vector<std::string>& names) const {
        const std::string v = string(key);
        for (std::size_t i = 0; i < names.size(); ++i)
            if (names[i] == v) return static_cast<Enum>(i);
        std::string valid;
        for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
        throw FormatError(strata::detail::concat(ck_.source(), ": arch.", key, " is '", v, "', expected one of ", valid));
    }
    const std::string& source() const { return ck_.source(); }

private:
    const io::Checkpoint& ck_;
};

inline void add_list(io::Checkpoint& ck, const std::string& key, const std::vector<index_t>& values) {
    std::vector<std::int64_t> v(values.begin(), values.end());
    ck.add_array<std::int64_t>("arch." + key, v.data(), {static_cast<index_t>(v.size())});
}

/// The stages (1-based) whose auxiliary head was stripped, from the taps of `heads` (one per stage, or null).
template <class T, class Heads>
std::vector<index_t> stripped_stages(const Heads& heads_of, std::size_t stages) {
    std::vector<index_t> out;
    for (std::size_t s = 0; s < stages; ++s)
        if (nn::AuxHead<T>* h = heads_of(s); h != nullptr && !h->has_head()) out.push_back(static_cast<index_t>(s + 1));
    return out;
}

/// Strips the heads after the 1-based `stages`.
template <class Heads>
void strip_stages(const Heads& heads_of, const std::vector<index_t>& stages, const std::string& source) {
    for (index_t s : stages) {
        auto* h = heads_of(static_cast<std::size_t>(s - 1));
        check<FormatError>(h != nullptr, source, ": arch.aux_stripped names stage ", s, ", which has no head");
        h->strip();
    }
}

/// The number of values the "model." entries of `ck` hold (parameters and buffers).
inline double stored_model_values(const io::Checkpoint& ck) {
    double n = 0;
    for (const io::CheckpointEntry& e : ck.entries())
        if (e.name.rfind("model.", 0) == 0) n += static_cast<double>(e.numel());
    return n;
}

/// Throws FormatError when the architecture's parameters (`floor`, a lower bound) cannot fit in the values the
/// file stores: the description is corrupt, and building the net would allocate for nothing (a few bytes of
/// a damaged file could ask for terabytes).
inline void check_parameter_floor(const io::Checkpoint& ck, double floor) {
    const double stored = stored_model_values(ck);
    check<FormatError>(floor <= stored, ck.source(), ": the architecture describes at least ", floor,
                       " parameters but the file stores ", stored, " weight values: its arch.* entries are corrupt");
}

/// A lower bound on a ResNet's parameter count: each block has a 3x3 conv of its stage's width to itself, the
/// stem a conv from in_channels to the first width, the classifier one weight per class and final width, and
/// each head kept (`heads`) at least one weight per class (1024 per class for the GoogLeNet kind).
inline double resnet_parameter_floor(const std::vector<index_t>& blocks, const ResNetOptions& o, std::size_t heads) {
    if (blocks.empty()) return 0;
    const std::vector<index_t> widths = resnet_stage_widths(o, blocks.size());  // as the ResNet constructor has them
    const index_t classes = o.num_classes();
    const bool googlenet_heads = o.aux_head() == nn::AuxHeadKind::googlenet;
    double n = static_cast<double>(o.in_channels()) * static_cast<double>(widths[0]);
    for (std::size_t s = 0; s < blocks.size(); ++s)
        n += 9.0 * static_cast<double>(blocks[s]) * static_cast<double>(widths[s]) * static_cast<double>(widths[s]);
    n += static_cast<double>(classes) * static_cast<double>(widths[blocks.size() - 1]);
    return n + static_cast<double>(heads) * static_cast<double>(classes) * (googlenet_heads ? 1024.0 : 1.0);
}

/// A lower bound on a DSN's parameter count: two 3x3 convs per stage (the first from the previous width) and the
/// classifier.
inline double dsn_parameter_floor(const std::vector<index_t>& widths, index_t in_channels, index_t classes) {
    double n = 0, in = static_cast<double>(in_channels);
    for (index_t w : widths) {
        n += 9.0 * in * static_cast<double>(w) + 9.0 * static_cast<double>(w) * static_cast<double>(w);
        in = static_cast<double>(w);
    }
    return n + in * static_cast<double>(classes);
}

}  // namespace detail

/// Adds the "arch." entries that describe `model` (see the file comment) to `ck`. Returns false (adding
/// nothing) when `model` is not a net the registry builds (ResNet or DSN).
/// @throws ArgumentError when `ck` already has "arch." entries.
template <class T>
bool add_architecture(io::Checkpoint& ck, const nn::Module<T>& model) {
    using detail::add_list;
    if (const auto* r = dynamic_cast<const ResNet<T>*>(&model)) {
        const ResNetOptions& o = r->options();
        ck.add_scalar("arch.format", architecture_format);
        ck.add_string("arch.type", "ResNet");
        ck.add_string("arch.block", detail::block_names()[static_cast<std::size_t>(r->block_type())]);
        add_list(ck, "blocks_per_stage", r->blocks_per_stage());
        ck.add_string("arch.stem", detail::stem_names()[static_cast<std::size_t>(o.stem())]);
        ck.add_string("arch.shortcut", detail::shortcut_names()[static_cast<std::size_t>(o.shortcut())]);
        ck.add_string("arch.norm", detail::norm_names()[static_cast<std::size_t>(o.norm())]);
        ck.add_scalar("arch.in_channels", static_cast<std::int64_t>(o.in_channels()));
        ck.add_scalar("arch.num_classes", static_cast<std::int64_t>(o.num_classes()));
        add_list(ck, "widths", o.widths());
        add_list(ck, "aux_after", std::vector<index_t>(o.aux_after().begin(), o.aux_after().end()));
        ck.add_string("arch.aux_head", detail::aux_head_names()[static_cast<std::size_t>(o.aux_head())]);
        ck.add_scalar("arch.input_size", static_cast<std::int64_t>(o.input_size()));
        add_list(ck, "aux_stripped", detail::stripped_stages<T>([&](std::size_t s) { return r->aux_head(s); },
                                                                r->blocks_per_stage().size()));
        return true;
    }
    if (const auto* d = dynamic_cast<const Dsn<T>*>(&model)) {
        const DsnOptions& o = d->options();
        ck.add_scalar("arch.format", architecture_format);
        ck.add_string("arch.type", "DSN");
        ck.add_string("arch.norm", detail::norm_names()[static_cast<std::size_t>(o.norm())]);
        ck.add_scalar("arch.in_channels", static_cast<std::int64_t>(o.in_channels()));
        ck.add_scalar("arch.num_classes", static_cast<std::int64_t>(o.num_classes()));
        add_list(ck, "widths", o.widths());
        ck.add_string("arch.aux_head", detail::aux_head_names()[static_cast<std::size_t>(o.aux_head())]);
        add_list(ck, "aux_stripped", detail::stripped_stages<T>([&](std::size_t s) { return d->aux_head(s); },
                                                                o.widths().size()));
        return true;
    }
    return false;
}

/// A model file of `model`: its weights under "model." and its architecture under "arch.".
/// @throws ArgumentError when `model` is not a net the registry builds, saying what to do instead.
template <class T>
io::Checkpoint model_checkpoint(const nn::Module<T>& model) {
    io::Checkpoint ck = io::Checkpoint::from_module(model);
    check<ArgumentError>(
        add_architecture(ck, model), "save_model: a ", model.type_name(),
        " is not a model strata can rebuild from a file (those models::make_model builds: ResNet, plain and "
        "CIFAR-style nets, DSN). Save its weights with io::Checkpoint::from_module(model).save(path); to serve it, "
        "build the same model in code and call io::Checkpoint::load(path).load_into(model)");
    return ck;
}

/// Saves `model` with its architecture to `path`, atomically (the previous file stays intact on failure).
/// @throws ArgumentError when `model` is not a net the registry builds (nothing is written).
/// @throws IoError naming the path, the failed step and strerror.
template <class T>
void save_model(const std::string& path, const nn::Module<T>& model) {
    model_checkpoint(model).save(path);
}

/// Rebuilds the model described by a checkpoint's "arch." entries and loads its "model." entries into it
/// (f32 or f64, converted to T). Returns it in eval mode.
/// @throws FormatError when there is no or a newer architecture description, or a value in it is invalid
/// (naming the entry and the value); CheckpointMismatch when the weights do not fit the architecture.
template <class T>
std::unique_ptr<nn::Module<T>> load_model(const io::Checkpoint& ck) {
    check<FormatError>(
        ck.has("arch.format"), ck.source(),
        " holds weights but no architecture (no arch.* entries: it was saved with io::Checkpoint::from_module or "
        "by an older strata); build the model in code and load the weights with io::Checkpoint::load(path)"
        ".load_into(model)");
    const detail::ArchReader a(ck);
    const auto version = ck.get_scalar<std::int64_t>("arch.format");
    check<FormatError>(version >= 1 && version <= architecture_format, ck.source(), ": architecture format ", version,
                       version > architecture_format ? " is newer than this strata supports (" : " is invalid (",
                       architecture_format, ")");
    constexpr index_t max_width = 1 << 16;
    std::unique_ptr<nn::Module<T>> model;
    try {
        const std::string type = a.string("type");
        if (type == "ResNet") {
            const auto block = a.choice<BlockType>("block", detail::block_names());
            const auto blocks = a.list("blocks_per_stage", 16, 1, 4096);
            const auto aux_after = a.list("aux_after", 16, 1, 16);
            const auto aux_stripped = a.list("aux_stripped", 16, 1, 16);
            auto o = ResNetOptions()
                         .stem(a.choice<Stem>("stem", detail::stem_names()))
                         .shortcut(a.choice<Shortcut>("shortcut", detail::shortcut_names()))
                         .norm(a.choice<Norm>("norm", detail::norm_names()))
                         .in_channels(a.integer("in_channels", 1, max_width))
                         .num_classes(a.integer("num_classes", 1, 1 << 24))
                         .widths(a.list("widths", 16, 1, max_width))
                         .aux_after(std::vector<int>(aux_after.begin(), aux_after.end()))
                         .aux_head(a.choice<nn::AuxHeadKind>("aux_head", detail::aux_head_names()))
                         .input_size(a.integer("input_size", 1, max_width));
            const std::size_t heads_kept =
                aux_after.size() > aux_stripped.size() ? aux_after.size() - aux_stripped.size() : 0;
            detail::check_parameter_floor(ck, detail::resnet_parameter_floor(blocks, o, heads_kept));
            auto net = std::make_unique<ResNet<T>>(block, blocks, o);
            detail::strip_stages([&](std::size_t s) { return net->aux_head(s); }, aux_stripped, a.source());
            model = std::move(net);
        } else if (type == "DSN") {
            auto o = DsnOptions()
                         .norm(a.choice<Norm>("norm", detail::norm_names()))
                         .in_channels(a.integer("in_channels", 1, max_width))
                         .num_classes(a.integer("num_classes", 1, 1 << 24))
                         .widths(a.list("widths", 16, 1, max_width))
                         .aux_head(a.choice<nn::AuxHeadKind>("aux_head", detail::aux_head_names()));
            detail::check_parameter_floor(ck, detail::dsn_parameter_floor(o.widths(), o.in_channels(), o.num_classes()));
            auto net = std::make_unique<Dsn<T>>(o);
            detail::strip_stages([&](std::size_t s) { return net->aux_head(s); },
                                 a.list("aux_stripped", 16, 1, 16), a.source());
            model = std::move(net);
        } else {
            throw FormatError(strata::detail::concat(ck.source(), ": arch.type is '", type,
                                                     "', expected ResNet or DSN"));
        }
    } catch (const ArgumentError& e) {  // an entry missing, or a description no factory accepts
        throw FormatError(strata::detail::concat(ck.source(), ": the architecture it describes is invalid: ", e.what()));
    }
    ck.load_into(*model, io::LoadOptions().convert_dtype(true));
    model->eval();
    return model;
}

/// load_model of the file at `path` (see load_model(const io::Checkpoint&)).
/// @throws IoError when the file cannot be read; FormatError when it is not a valid checkpoint or has no valid
/// architecture; CheckpointMismatch when the weights do not fit the architecture.
template <class T>
std::unique_ptr<nn::Module<T>> load_model(const std::string& path) {
    return load_model<T>(io::Checkpoint::load(path));
}

}  // namespace strata::models
