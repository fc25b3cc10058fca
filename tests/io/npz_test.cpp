// Tests of io/npz.hpp and io/zip.hpp: PyTorch's state_dict of a reduced ResNet-18 (tests/fixtures/
// generate_npz.py, np.savez and np.savez_compressed) loads into strata's resnet18 and reproduces PyTorch's eval
// logits; strata's save_npz round trips; malformed .npy and zip data (unsupported descr, Fortran order, bad local
// header, CRC mismatch, truncation, zip64, other methods) are clear errors that leave the model unchanged.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include "strata/io/npz.hpp"
#include "strata/models/resnet.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"
#include "support/fixture.hpp"

using namespace strata;
using Catch::Contains;

namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& name) { return std::string(STRATA_FIXTURE_DIR) + "/" + name; }
const std::string kState = fixture("npz_resnet18_w2_state.npz");
const std::string kCompressed = fixture("npz_resnet18_w2_state_compressed.npz");
const std::string kIo = fixture("npz_resnet18_w2_io.npz");

/// The peer workload's ResNet-18 at the fixture's widths (unless `o` sets others).
template <class T>
std::unique_ptr<models::ResNet<T>> net(models::ResNetOptions o = models::ResNetOptions()) {
    if (o.widths().empty()) o.widths({2, 4, 8, 16});
    return models::resnet18<T>(o.in_channels(1).num_classes(10));
}

/// Every parameter and buffer value, in order, as one string of bytes (compared without printing them).
template <class T>
std::string snapshot_bytes(nn::Module<T>& m) {
    std::string out;
    auto add = [&](const Tensor<T>& t) { out.append(reinterpret_cast<const char*>(t.data()), sizeof(T) * static_cast<std::size_t>(t.numel())); };
    for (auto& np : m.named_parameters()) add(np.parameter->value);
    for (auto& nb : m.named_buffers()) add(*nb.buffer);
    return out;
}

/// Eval-mode output of `m` on the fixture's input, and its max_rel_diff to PyTorch's logits.
template <class T>
double logits_error(nn::Module<T>& m) {
    const io::Checkpoint ref = io::read_npz(kIo);
    const Tensor<T> x = ref.get_tensor<float>("input").template cast<T>();
    m.eval();
    Tape tape;
    NoGradGuard no_grad(tape);
    const Var<T> y = m(tape.constant(x));
    return test::max_rel_diff(y.value(), ref.get_tensor<double>("logits"));
}

std::string temp_path(const std::string& name) {
    return (fs::temp_directory_path() / ("strata_npz_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::vector<std::uint8_t> patched(std::vector<std::uint8_t> b, std::size_t at, std::uint64_t value, int width) {
    for (int k = 0; k < width; ++k) b[at + static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(value >> (8 * k));
    return b;
}

}  // namespace

TEST_CASE("PyTorch's state_dict (np.savez) loads into strata's ResNet-18 and gives PyTorch's logits", "[io][npz]") {
    auto f = net<float>();
    const io::LoadReport r = io::load_npz(kState, *f);
    CHECK(r.complete());
    CHECK(r.loaded.size() == 122);
    CHECK(logits_error(*f) <= 1e-5);
    // num_batches_tracked: int64 () in the file, a rank-0 float here.
    const io::Checkpoint state = io::read_npz(kState);
    CHECK(state.entry("bn1.num_batches_tracked").dtype == io::DType::i64);
    CHECK(state.entry("bn1.num_batches_tracked").dims.empty());
    const auto counter = state.get_scalar<std::int64_t>("layer3.1.bn2.num_batches_tracked");
    CHECK(counter > 0);
    for (auto& nb : f->named_buffers())
        if (nb.name == "layer3.1.bn2.num_batches_tracked") CHECK((*nb.buffer)[0] == static_cast<float>(counter));
    // In double: the float32 weights convert exactly, so strata matches PyTorch's float64 forward closely.
    auto d = net<double>();
    io::load_npz(kState, *d);
    CHECK(logits_error(*d) <= 1e-10);
}

TEST_CASE("np.savez_compressed's deflated members load with zlib, and are a clear IoError without", "[io][npz]") {
    auto f = net<float>();
    if (io::zip_supports_deflate) {
        CHECK(io::load_npz(kCompressed, *f).complete());
        CHECK(logits_error(*f) <= 1e-5);
        auto g = net<float>();
        io::load_npz(kState, *g);
        CHECK(snapshot_bytes(*f) == snapshot_bytes(*g));
    } else {
        const auto before = snapshot_bytes(*f);
        CHECK_THROWS_AS(io::load_npz(kCompressed, *f), IoError);
        CHECK_THROWS_WITH(io::load_npz(kCompressed, *f), Contains("member 'conv1.weight.npy' of " + kCompressed) &&
                                                             Contains("built without zlib"));
        CHECK(snapshot_bytes(*f) == before);
    }
}

TEST_CASE("save_npz writes PyTorch's state_dict layout and reads back exactly", "[io][npz]") {
    auto f = net<float>();
    io::load_npz(kState, *f);
    for (bool compress : {false, true}) {
        if (compress && !io::zip_supports_deflate) {
            CHECK_THROWS_WITH(io::save_npz(temp_path("x.npz"), *f, true), Contains("without zlib"));
            continue;
        }
        INFO((compress ? "deflated" : "stored"));
        const std::string path = temp_path(compress ? "deflated.npz" : "stored.npz");
        io::save_npz(path, *f, compress);
        // Same names, dtypes, shapes and values as PyTorch's file.
        const io::Checkpoint ours = io::read_npz(path), theirs = io::read_npz(kState);
        REQUIRE(ours.entries().size() == theirs.entries().size());
        for (const auto& e : theirs.entries()) {
            INFO(e.name);
            REQUIRE(ours.has(e.name));
            CHECK(ours.entry(e.name).dtype == e.dtype);
            CHECK(ours.entry(e.name).dims == e.dims);
            CHECK(ours.entry(e.name).data == e.data);
        }
        auto g = net<float>(models::ResNetOptions().seed(7));
        CHECK(io::load_npz(path, *g).complete());
        CHECK(snapshot_bytes(*g) == snapshot_bytes(*f));
        if (const char* out = std::getenv("STRATA_NPZ_EXPORT"))  // for generate_npz.py --check
            fs::copy_file(path, std::string(out) + (compress ? ".deflated.npz" : ".npz"), fs::copy_options::overwrite_existing);
        fs::remove(path);
    }
    // A double model writes '<f8' arrays.
    auto d = net<double>();
    const io::Checkpoint state = io::npz_state(*d);
    CHECK(state.entry("fc.weight").dtype == io::DType::f64);
    CHECK(state.entry("bn1.num_batches_tracked").dtype == io::DType::i64);
    const std::vector<std::uint8_t> bytes = io::npz_bytes(state);
    CHECK(io::read_npz(bytes.data(), bytes.size(), "mem").entry("fc.weight").dtype == io::DType::f64);
}

TEST_CASE("load_npz checks names and shapes strictly or reports them, leaving the model unchanged", "[io][npz]") {
    auto wide = net<float>(models::ResNetOptions().widths({4, 4, 8, 16}));
    auto before = snapshot_bytes(*wide);
    CHECK_THROWS_AS(io::load_npz(kState, *wide), ShapeError);
    CHECK_THROWS_WITH(io::load_npz(kState, *wide),
                      Contains("load: " + kState + " does not match the model") &&
                          Contains("  shape: 'conv1.weight' is [2, 1, 7, 7] in the file, [4, 1, 7, 7] in the model (parameter)"));
    CHECK(snapshot_bytes(*wide) == before);

    auto with_aux = net<float>(models::ResNetOptions().aux_after({1}));
    before = snapshot_bytes(*with_aux);
    CHECK_THROWS_WITH(io::load_npz(kState, *with_aux), Contains("  missing: 'aux1."));
    CHECK(snapshot_bytes(*with_aux) == before);
    const io::LoadReport r = io::load_npz(kState, *with_aux, false);
    CHECK(r.loaded.size() == 122);
    CHECK_FALSE(r.missing.empty());
    for (const auto& n : r.missing) CHECK(n.rfind("aux1.", 0) == 0);
    CHECK(logits_error(*with_aux) <= 1e-5);  // eval mode skips the head

    // Extra arrays in the file (a model with heads saved, loaded into the stripped net).
    const std::string path = temp_path("aux.npz");
    io::save_npz(path, *with_aux);
    auto plain = net<float>();
    CHECK_THROWS_WITH(io::load_npz(path, *plain), Contains("  unexpected: 'aux1."));
    CHECK(io::load_npz(path, *plain, false).unexpected == r.missing);
    fs::remove(path);
}

TEST_CASE("Unsupported .npy arrays are FormatErrors naming the entry and the descr", "[io][npz]") {
    auto m = net<float>();
    CHECK_THROWS_WITH(io::read_npz(fixture("npz_bad_big_endian.npz")),
                      Contains("entry 'w.npy': has dtype descr '>f4'; only '<f4', '<f8' and '<i8' are supported"));
    CHECK_THROWS_WITH(io::read_npz(fixture("npz_bad_float16.npz")), Contains("entry 'w.npy': has dtype descr '<f2'"));
    CHECK_THROWS_WITH(io::read_npz(fixture("npz_bad_fortran.npz")), Contains("entry 'w.npy': is stored in Fortran order"));
    CHECK_THROWS_AS(io::load_npz(fixture("npz_bad_fortran.npz"), *m), FormatError);
    // "w.npy" and "w" would both be the array "w".
    io::Checkpoint one;
    one.add_scalar("w", std::int64_t{4});
    const std::vector<std::uint8_t> npy = io::detail::npy_bytes(one.entry("w"));
    const std::vector<std::uint8_t> twice = io::write_zip({{"w.npy", npy}, {"w", npy}});
    CHECK_THROWS_WITH(io::read_npz(twice.data(), twice.size(), "t.npz"), "t.npz: two members hold the array 'w'");
    const std::vector<std::uint8_t> once = io::write_zip({{"w", npy}});  // a member without ".npy" is fine
    CHECK(io::read_npz(once.data(), once.size(), "t.npz").get_scalar<int>("w") == 4);
    auto header = [](const std::string& text) { return io::detail::NpyHeaderParser(text, "x").parse(); };
    const io::detail::NpyHeader h = header("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }   \n");
    CHECK(h.descr == "<f8");
    CHECK(h.shape == std::vector<index_t>{3});
    CHECK(header("{\"shape\": (), \"descr\": \"<i8\", \"fortran_order\": True}").shape.empty());
    CHECK(header("{'descr':'<f4','fortran_order':False,'shape':(2, 3L)}").shape == std::vector<index_t>{2, 3});
    CHECK_THROWS_WITH(header("{'descr': '<f4', 'shape': (2,)}"), Contains("needs the keys"));
    CHECK_THROWS_WITH(header("{'descr': '<f4', 'descr': '<f4'}"), Contains("repeated key 'descr'"));
    CHECK_THROWS_WITH(header("{'descr': '<f4', 'fortran_order': Maybe"), Contains("expected True or False"));
    CHECK_THROWS_WITH(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}"), Contains("non-negative integer"));
    CHECK_THROWS_WITH(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x"), Contains("text after"));
    CHECK_THROWS_WITH(header("{'descr: '<f4'"), Contains("malformed .npy header"));
    CHECK_THROWS_WITH(header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"),
                      Contains("dimension too large"));
}

TEST_CASE("Corrupt zip archives are clear errors and leave the model unchanged", "[io][npz][zip]") {
    const std::vector<std::uint8_t> good = io::read_whole_file(kState);
    auto m = net<float>();
    const auto before = snapshot_bytes(*m);
    auto load = [&](const std::vector<std::uint8_t>& b) {
        io::read_npz(b.data(), b.size(), "f.npz").load_into(*m, io::LoadOptions().prefix("").convert_dtype(true));
    };
    // Offsets from the file itself: the first local header, its data, and the end record.
    const std::size_t name_len = io::detail::get_le(good.data() + 26, 2), extra_len = io::detail::get_le(good.data() + 28, 2);
    const std::size_t data0 = 30 + name_len + extra_len;
    const std::size_t eocd = good.size() - 22;
    const std::size_t cd = io::detail::get_le(good.data() + eocd + 16, 4);
    REQUIRE(io::detail::get_le(good.data() + eocd, 4) == 0x06054b50);

    CHECK_THROWS_WITH(load(patched(good, 0, 0x04034b51, 4)), "f.npz: bad local header signature for member 'conv1.weight.npy' at offset 0");
    CHECK_THROWS_WITH(load(patched(good, data0 + 200, 0x5A, 1)), Contains("f.npz: CRC mismatch in member 'conv1.weight.npy'"));
    CHECK_THROWS_WITH(load(patched(good, data0 + 8, 0xFFFF, 2)), Contains("CRC mismatch"));
    CHECK_THROWS_WITH(load(patched(good, eocd + 10, 0xFFFF, 2)), Contains("zip64 archives are not supported"));
    CHECK_THROWS_WITH(load(patched(good, cd + 20, 0xFFFFFFFF, 4)), Contains("member 'conv1.weight.npy' needs zip64"));
    CHECK_THROWS_WITH(load(patched(patched(good, cd + 10, 12, 2), 8, 12, 2)), Contains("compression method 12"));
    CHECK_THROWS_WITH(load(patched(good, cd + 8, 1, 2)), Contains("is encrypted"));
    CHECK_THROWS_WITH(load(patched(good, cd + 42, 5, 4)), Contains("bad local header signature"));
    CHECK_THROWS_WITH(load(patched(good, eocd + 16, cd - 1, 4)), Contains("bad central directory header signature"));
    CHECK_THROWS_WITH(load(patched(good, eocd + 12, 1u << 30, 4)), Contains("lies outside the archive"));
    CHECK_THROWS_WITH(load(patched(good, cd + 24, 7, 4)), Contains("stored member 'conv1.weight.npy' has compressed size"));
    CHECK_THROWS_WITH(load(patched(good, 26, name_len + 1, 2)), Contains("disagrees with the central directory"));
    CHECK_THROWS_WITH(load(std::vector<std::uint8_t>(good.begin(), good.end() - 1)), Contains("no end-of-central-directory"));
    // Truncated at many offsets (every 61st byte and the last 100): never accepted.
    for (std::size_t n = 0; n < good.size(); n += (n + 100 < good.size() ? 61 : 1)) {
        INFO("truncated to " << n);
        CHECK_THROWS_AS(load(std::vector<std::uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n))), FormatError);
    }
    if (io::zip_supports_deflate) {
        const std::vector<std::uint8_t> z = io::read_whole_file(kCompressed);
        const std::size_t zdata = 30 + io::detail::get_le(z.data() + 26, 2) + io::detail::get_le(z.data() + 28, 2);
        for (std::size_t k = 0; k < 40; ++k) {
            INFO("deflate byte " << k << " flipped");
            std::vector<std::uint8_t> bad = z;
            bad[zdata + k] ^= 0x55;
            CHECK_THROWS_AS(load(bad), FormatError);
        }
        const std::size_t zsize = io::detail::get_le(z.data() + z.size() - 6, 4) + 24;  // first member's size
        const std::uint64_t usize = io::detail::get_le(z.data() + zsize, 4);
        CHECK_THROWS_WITH(load(patched(z, zsize, usize + 1, 4)),
                          Contains("member 'conv1.weight.npy' of f.npz: corrupt deflate data (it decompresses to " +
                                   std::to_string(usize) + " bytes, the header says " + std::to_string(usize + 1)));
        CHECK_THROWS_WITH(load(patched(z, zsize, usize - 1, 4)), Contains("the stream is truncated or larger than"));
        CHECK_THROWS_WITH(load(patched(z, zsize, 1u << 30, 4)), Contains("claims 1073741824 bytes from"));
    }
    CHECK(snapshot_bytes(*m) == before);
    CHECK_THROWS_WITH(io::read_npz(temp_path("missing.npz")), Contains("cannot open"));
}

TEST_CASE("write_zip and read_zip round trip members; names are checked", "[io][zip]") {
    std::vector<io::ZipEntry> members = {{"a.txt", {'h', 'i'}}, {"empty", {}}, {"dir/\xc3\xa9.bin", std::vector<std::uint8_t>(3000, 7)}};
    for (bool compress : {false, true}) {
        if (compress && !io::zip_supports_deflate) continue;
        const std::vector<std::uint8_t> bytes = io::write_zip(members, compress);
        const std::vector<io::ZipEntry> back = io::read_zip(bytes.data(), bytes.size(), "z");
        REQUIRE(back.size() == 3);
        for (std::size_t i = 0; i < 3; ++i) {
            CHECK(back[i].name == members[i].name);
            CHECK(back[i].data == members[i].data);
        }
        CHECK(io::write_zip(members, compress) == bytes);  // deterministic
        if (compress) CHECK(bytes.size() < 1000);
    }
    members.push_back({"a.txt", {}});
    CHECK_THROWS_AS(io::write_zip(members), ArgumentError);
    CHECK_THROWS_WITH(io::read_zip(nullptr, 0, "z"), Contains("z: not a zip archive"));
}
