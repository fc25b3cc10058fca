// Tests of io/checkpoint.hpp: every dtype round trips; truncation at every offset, byte flips, a newer version,
// a bad magic and absurd header fields are FormatErrors that leave the model unchanged; name, dtype and shape
// mismatches in strict and non-strict loads; optimizer-style state; a failed save keeps the old file.

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <unistd.h>
#ifdef STRATA_HAS_ZLIB
#include <zlib.h>
#endif
#if __has_include("strata/optim/sgd.hpp")  // the optimizers plug in through state_tensors() / init_state()
#include "strata/optim/sgd.hpp"
#define STRATA_CKPT_TEST_SGD 1
#endif

#include "strata/io/checkpoint.hpp"
#include "strata/models/resnet.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"
#include "support/temp_dir.hpp"

using namespace strata;
using strata::test::TempDir;
using Catch::Contains;

namespace {

namespace fs = std::filesystem;

/// Linear(in, 2) then BatchNorm2d(2) (then Linear(2, 3) with `extra`), every value random from `seed`.
template <class T>
std::unique_ptr<nn::Sequential<T>> tiny(std::uint64_t seed, index_t in = 3, bool extra = false) {
    auto m = std::make_unique<nn::Sequential<T>>();
    m->template emplace<nn::Linear<T>>(nn::LinearOptions(in, 2));
    m->template emplace<nn::BatchNorm2d<T>>(nn::BatchNormOptions(2));
    if (extra) m->template emplace<nn::Linear<T>>(nn::LinearOptions(2, 3));
    Generator gen(seed);
    for (auto& np : m->named_parameters()) np.parameter->value.fill_normal(gen);
    for (auto& nb : m->named_buffers()) nb.buffer->fill_uniform(gen, 0.5, 2.0);
    return m;
}

/// Copies of every parameter and buffer value, in order.
template <class T>
std::vector<std::vector<T>> snapshot(nn::Module<T>& m) {
    std::vector<std::vector<T>> out;
    for (auto& np : m.named_parameters()) out.emplace_back(np.parameter->value.data(), np.parameter->value.data() + np.parameter->numel());
    for (auto& nb : m.named_buffers()) out.emplace_back(nb.buffer->data(), nb.buffer->data() + nb.buffer->numel());
    return out;
}

std::string what_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("Checkpoint round trips every dtype, scalars, strings, doubles and generators", "[io][checkpoint]") {
    io::Checkpoint ck;
    const float f[6] = {1.5f, -2.25f, 3e-38f, -0.0f, 1e30f, 7};
    const double d[3] = {0.1, -1e-300, 12345.678};
    const std::int64_t i[4] = {-1, 0, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()};
    const std::uint64_t u[2] = {0, ~std::uint64_t{0}};
    const std::uint8_t b[5] = {0, 1, 127, 128, 255};
    ck.add_array<float>("t.f32", f, {2, 3});
    ck.add_array<double>("t.f64", d, {3});
    ck.add_array<std::int64_t>("t.i64", i, {2, 1, 2});
    ck.add_array<std::uint64_t>("t.u64", u, {2});
    ck.add_array<std::uint8_t>("t.u8", b, {5});
    ck.add_array<float>("t.empty", nullptr, {0, 4});
    ck.add_scalar("meta.epoch", 7);
    ck.add_scalar("meta.step", std::uint64_t{1} << 40);
    ck.add_scalar("meta.loss", 0.25);
    ck.add_scalar("meta.flag", true);
    ck.add_string("meta.note", std::string("a\0b ", 4) + "ResNet-18 \xc3\xa9");
    ck.add_string("meta.empty", "");
    ck.add_doubles("sched.lr", {1, 0.5, 0.25});
    Tensor<double> t(Shape{2, 2}, {1, 2, 3, 4});
    ck.add_tensor("model.w", t);
    Generator gen(42);
    gen.normal();  // leaves a cached second deviate in the state
    ck.add_generator("rng.data", gen);

    TempDir dir;
    ck.save(dir.file("all.ck"));
    const io::Checkpoint back = io::Checkpoint::load(dir.file("all.ck"));
    CHECK(back.source() == dir.file("all.ck"));
    REQUIRE(back.entries().size() == ck.entries().size());
    for (std::size_t k = 0; k < ck.entries().size(); ++k) {
        const auto& a = ck.entries()[k];
        const auto& z = back.entries()[k];
        INFO(a.name);
        CHECK(z.name == a.name);
        CHECK(z.dtype == a.dtype);
        CHECK(z.dims == a.dims);
        CHECK(z.data == a.data);
    }
    CHECK(back.entry("t.i64").shape_string() == "[2, 1, 2]");
    CHECK(back.get_scalar<int>("meta.epoch") == 7);
    CHECK(back.entry("meta.epoch").dtype == io::DType::i64);
    CHECK(back.get_scalar<std::uint64_t>("meta.step") == (std::uint64_t{1} << 40));
    CHECK(back.get_scalar<double>("meta.loss") == 0.25);
    CHECK(back.get_scalar<int>("meta.flag") == 1);
    CHECK(back.get_string("meta.note") == std::string("a\0b ", 4) + "ResNet-18 \xc3\xa9");
    CHECK(back.get_string("meta.empty").empty());
    CHECK(back.get_doubles("sched.lr") == std::vector<double>{1, 0.5, 0.25});
    const Tensor<double> t2 = back.get_tensor<double>("model.w");
    CHECK(t2.shape() == Shape{2, 2});
    CHECK(t2[3] == 4);
    CHECK(back.get_tensor<float>("t.empty").shape() == Shape{0, 4});
    Generator restored = back.get_generator("rng.data");
    for (int k = 0; k < 5; ++k) CHECK(restored.normal() == gen.normal());  // the cached deviate first
    CHECK(back.names("meta.").size() == 6);
    // The bytes are deterministic: saving what was read gives the same file.
    CHECK(back.to_bytes() == ck.to_bytes());
}

TEST_CASE("Checkpoint refuses bad names and reports wrong accessors", "[io][checkpoint]") {
    io::Checkpoint ck;
    ck.add_scalar("meta.epoch", 3);
    ck.add_scalar("meta.big", std::int64_t{1} << 40);
    ck.add_doubles("sched.lr", {0.1});
    CHECK_THROWS_WITH(ck.add_scalar("meta.epoch", 4), Contains("already has an entry 'meta.epoch'"));
    CHECK_THROWS_AS(ck.add_scalar("", 4), ArgumentError);
    CHECK_THROWS_WITH(ck.get_scalar<int>("meta.epochs"), Contains("has no entry 'meta.epochs'"));
    CHECK_THROWS_AS(ck.get_scalar<int>("meta.epochs"), ArgumentError);
    CHECK_THROWS_WITH(ck.get_scalar<double>("meta.epoch"), Contains("entry 'meta.epoch' has dtype i64, not a floating type"));
    CHECK_THROWS_AS(ck.get_scalar<double>("meta.epoch"), FormatError);
    CHECK_THROWS_WITH(ck.get_scalar<std::int32_t>("meta.big"), Contains("value 1099511627776 does not fit"));
    CHECK_THROWS_WITH(ck.get_scalar<double>("sched.lr"), Contains("has shape [1], expected a scalar"));
    CHECK_THROWS_WITH(ck.get_string("sched.lr"), Contains("'sched.lr' has dtype f64, expected u8"));
    CHECK_THROWS_WITH(ck.get_tensor<float>("sched.lr"), Contains("has dtype f64, expected f32"));
    CHECK_THROWS_WITH(ck.get_generator("sched.lr"), Contains("expected u64"));
    CHECK(ck.remove("meta.epoch"));
    CHECK_FALSE(ck.remove("meta.epoch"));
    CHECK_FALSE(ck.has("meta.epoch"));
    CHECK(ck.has("sched.lr"));
    CHECK(ck.get_doubles("sched.lr")[0] == 0.1);
}

TEST_CASE("Checkpoint::from_module and load_into restore a model exactly", "[io][checkpoint]") {
    auto a = tiny<float>(1);
    auto b = tiny<float>(2);
    const io::Checkpoint ck = io::Checkpoint::from_module(*a);
    CHECK(ck.names() == std::vector<std::string>{"model.0.weight", "model.0.bias", "model.1.weight", "model.1.bias",
                                                  "model.1.running_mean", "model.1.running_var",
                                                  "model.1.num_batches_tracked"});
    CHECK(ck.entry("model.1.num_batches_tracked").dims.empty());
    REQUIRE(snapshot(*a) != snapshot(*b));
    const io::LoadReport r = io::Checkpoint::from_bytes(ck.to_bytes()).load_into(*b);
    CHECK(snapshot(*a) == snapshot(*b));
    CHECK(r.loaded.size() == 7);
    CHECK(r.complete());
    // Another prefix.
    io::Checkpoint two;
    two.add_module(*a, "ema.");
    auto c = tiny<float>(3);
    two.load_into(*c, io::LoadOptions().prefix("ema."));
    CHECK(snapshot(*a) == snapshot(*c));
}

TEST_CASE("A checkpoint truncated at every offset is a FormatError and leaves the model unchanged", "[io][checkpoint]") {
    auto src = tiny<float>(1);
    io::Checkpoint ck = io::Checkpoint::from_module(*src);
    ck.add_scalar("meta.epoch", 5);
    const std::vector<std::uint8_t> bytes = ck.to_bytes();
    auto model = tiny<float>(2);
    const auto before = snapshot(*model);
    int truncated_messages = 0;
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        INFO("truncated to " << n << " of " << bytes.size() << " bytes");
        const std::string msg = what_of([&] { io::Checkpoint::from_bytes(bytes.data(), n, "ck").load_into(*model); });
        CHECK_THROWS_AS(io::Checkpoint::from_bytes(bytes.data(), n, "ck"), FormatError);
        CHECK(msg.rfind("ck: ", 0) == 0);
        truncated_messages += msg.find("truncated") != std::string::npos;
        REQUIRE(snapshot(*model) == before);
    }
    // Nearly every cut is reported as a truncation (cuts inside the last entry's tail meet the checksum instead).
    CHECK(truncated_messages > static_cast<int>(bytes.size()) * 9 / 10);
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(bytes.data(), 0), Contains("empty file"));
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(bytes.data(), 80),
                      "<memory>: entry count 8 cannot fit in the 56 bytes that follow (an entry takes at least 15); "
                      "the file is truncated or corrupt");
    io::Checkpoint one;  // header 20 bytes, name length + "w" 5, dtype, rank, dims 16, byte length 8: data at 51
    one.add_tensor("w", Tensor<float>(Shape{2, 3}));
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(one.to_bytes().data(), 70),
                      "<memory>: truncated: entry 0 ('w') data needs 24 bytes at offset 51 but only 15 remain");
    // And through a file.
    TempDir dir;
    const std::string path = dir.file("cut.ck");
    io::atomic_write_file(path, bytes.data(), bytes.size() - 1);
    CHECK_THROWS_WITH(io::Checkpoint::load(path), Contains(path + ": truncated: entry 7 ('meta.epoch') data"));
    CHECK_THROWS_WITH(io::Checkpoint::load(dir.file("absent.ck")), Contains("cannot open") && Contains("absent.ck"));
    CHECK_THROWS_AS(io::Checkpoint::load(dir.file("absent.ck")), IoError);
}

TEST_CASE("Flipping any byte of a checkpoint is detected and leaves the model unchanged", "[io][checkpoint]") {
    auto src = tiny<float>(1);
    const std::vector<std::uint8_t> bytes = io::Checkpoint::from_module(*src).to_bytes();
    auto model = tiny<float>(2);
    const auto before = snapshot(*model);
    int checksum_messages = 0;
    for (std::size_t k = 0; k < bytes.size(); ++k)
        for (std::uint8_t mask : {0x01, 0x80, 0xFF}) {
            std::vector<std::uint8_t> bad = bytes;
            bad[k] ^= mask;
            INFO("byte " << k << " xor " << int(mask));
            const std::string msg = what_of([&] { io::Checkpoint::from_bytes(bad).load_into(*model); });
            CHECK_THROWS_AS(io::Checkpoint::from_bytes(bad), FormatError);
            checksum_messages += msg.find("checksum mismatch") != std::string::npos;
            REQUIRE(snapshot(*model) == before);
        }
    CHECK(checksum_messages > 0);
}

TEST_CASE("Checkpoint rejects a newer version, a bad magic and absurd header fields", "[io][checkpoint]") {
    auto src = tiny<float>(1);
    const std::vector<std::uint8_t> good = io::Checkpoint::from_module(*src).to_bytes();
    auto patched = [&](std::size_t at, std::uint64_t value, int width) {
        std::vector<std::uint8_t> b = good;
        for (int k = 0; k < width; ++k) b[at + static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(value >> (8 * k));
        return b;
    };
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(patched(8, 2, 4), "x.ck"),
                      "x.ck: format version 2 is newer than this strata supports (1)");
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(patched(8, 0, 4)), Contains("invalid format version 0"));
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(patched(0, 'X', 1)), Contains("not a strata checkpoint"));
    // An entry count that would need exabytes: refused before anything is allocated.
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(patched(12, std::uint64_t{1} << 60, 8)),
                      Contains("entry count 1152921504606846976 cannot fit"));
    // Entry 0: name length at 20, name "model.0.weight" (14 bytes), dtype at 38, rank at 39, dims at 40 and 48.
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(patched(20, 0xFFFFFFFF, 4)), Contains("invalid name length 4294967295"));
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(patched(38, 9, 1)), Contains("entry 0 ('model.0.weight'): unknown dtype code 9"));
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(patched(39, 200, 1)), Contains("rank 200 is more than 32"));
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(patched(40, std::uint64_t{1} << 61, 8)),
                      Contains("byte length 24 does not match shape [2305843009213693952, 3] of f32"));
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(patched(40, ~std::uint64_t{0}, 8)), Contains("negative dimension -1"));
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(patched(56, 1u << 30, 8)),
                      Contains("byte length 1073741824 does not match shape [2, 3] of f32 (24 bytes)"));
    std::vector<std::uint8_t> longer = good;
    longer.insert(longer.end() - 4, {0, 0});
    CHECK_THROWS_WITH(io::Checkpoint::from_bytes(longer), Contains("2 unexpected bytes after the last entry"));
}

TEST_CASE("load_into names every mismatch, strict and non-strict", "[io][checkpoint]") {
    SECTION("shape mismatch: CheckpointMismatch naming the entry and both shapes; the model is unchanged") {
        const io::Checkpoint ck = io::Checkpoint::from_module(*tiny<float>(1, 4));
        auto model = tiny<float>(2, 3);
        const auto before = snapshot(*model);
        CHECK_THROWS_AS(ck.load_into(*model), CheckpointMismatch);
        CHECK_THROWS_AS(ck.load_into(*model), ShapeError);   // the old catch sites still work
        CHECK_THROWS_AS(ck.load_into(*model), FormatError);
        CHECK_THROWS_WITH(ck.load_into(*model),
                          "load: <memory> does not match the model: 0 missing, 0 unexpected, 1 with another shape, "
                          "0 with another dtype\n"
                          "  shape: 'model.0.weight' is [2, 4] in the file, [2, 3] in the model (parameter)\n"
                          "(LoadOptions().strict(false) loads only the entries that match)");
        CHECK_THROWS_AS(ck.load_into(*model, io::LoadOptions().strict(false)), ShapeError);
        CHECK(snapshot(*model) == before);
        const io::LoadReport r = ck.load_into(*model, io::LoadOptions().strict(false).skip_mismatched(true));
        CHECK(r.mismatched == std::vector<std::string>{"0.weight"});
        CHECK(r.loaded.size() == 6);
        CHECK_FALSE(r.complete());
    }
    SECTION("dtype mismatch, and convert_dtype") {
        auto d = tiny<double>(1);
        const io::Checkpoint ck = io::Checkpoint::from_module(*d);
        auto model = tiny<float>(2);
        const auto before = snapshot(*model);
        CHECK_THROWS_AS(ck.load_into(*model), FormatError);
        CHECK_THROWS_WITH(ck.load_into(*model), Contains(": 0 missing, 0 unexpected, 0 with another shape, 7 with another dtype\n") &&
                                                    Contains("\n  dtype: 'model.0.weight' is f64 in the file, f32 in the model\n") &&
                                                    Contains("\n  dtype: 'model.1.running_var' is f64 in the file, f32 in the model\n"));
        CHECK(snapshot(*model) == before);
        ck.load_into(*model, io::LoadOptions().convert_dtype(true));
        CHECK(model->named_parameters()[0].parameter->value[1] == static_cast<float>(d->named_parameters()[0].parameter->value[1]));
    }
    SECTION("missing and unexpected entries") {
        const io::Checkpoint small = io::Checkpoint::from_module(*tiny<float>(1));
        io::Checkpoint big = io::Checkpoint::from_module(*tiny<float>(3, 3, true));
        big.add_scalar("meta.epoch", 2);  // other sections are never "unexpected"
        auto model = tiny<float>(2, 3, true);
        const auto before = snapshot(*model);
        CHECK_THROWS_WITH(small.load_into(*model), Contains(": 2 missing, 0 unexpected, 0 with another shape, 0 with another dtype\n") &&
                                                       Contains("\n  missing: 'model.2.weight' for parameter of shape [3, 2]\n") &&
                                                       Contains("\n  missing: 'model.2.bias'"));
        CHECK_THROWS_AS(small.load_into(*model), FormatError);
        CHECK(snapshot(*model) == before);
        const io::LoadReport r = small.load_into(*model, io::LoadOptions().strict(false));
        CHECK(r.missing == std::vector<std::string>{"2.weight", "2.bias"});
        CHECK(r.loaded.size() == 7);
        CHECK(snapshot(*model)[0] == snapshot(*tiny<float>(1))[0]);
        CHECK(snapshot(*model)[4] == before[4]);  // 2.weight untouched

        auto plain = tiny<float>(4);
        CHECK_THROWS_WITH(big.load_into(*plain), Contains("\n  unexpected: 'model.2.weight' (f32 [3, 2]), not in the model\n"));
        const io::LoadReport r2 = big.load_into(*plain, io::LoadOptions().strict(false));
        CHECK(r2.unexpected == std::vector<std::string>{"2.weight", "2.bias"});
        CHECK(r2.missing.empty());
    }
    SECTION("a ResNet with auxiliary heads from a checkpoint of the stripped net") {
        const auto o = models::ResNetOptions().in_channels(1).num_classes(10).widths({2, 4, 8, 16});
        auto stripped = models::resnet18<float>(o);
        auto with_aux = models::resnet18<float>(models::ResNetOptions(o).aux_after({2}).seed(9));
        const io::Checkpoint ck = io::Checkpoint::from_module(*stripped);
        CHECK_THROWS_WITH(ck.load_into(*with_aux), Contains("  missing: 'model.aux2."));
        const io::LoadReport r = ck.load_into(*with_aux, io::LoadOptions().strict(false));
        CHECK(!r.missing.empty());
        for (const auto& n : r.missing) CHECK(n.rfind("aux2.", 0) == 0);
        CHECK(r.unexpected.empty());
        CHECK(with_aux->fc().weight().value.array().isApprox(stripped->fc().weight().value.array()));
        // The reverse: the stripped net from a checkpoint with heads.
        const io::LoadReport r3 = io::Checkpoint::from_module(*with_aux).load_into(*stripped, io::LoadOptions().strict(false));
        CHECK(r3.unexpected.size() == r.missing.size());
    }
}

namespace {
/// An optimizer-shaped object: state_tensors() and init_state(), as optim::Optimizer has.
struct FakeOptimizer {
    static constexpr index_t dims[2] = {2, 3};      // (a Shape from an initializer_list here trips GCC 12's
    Tensor<float> momentum{Shape(dims, dims + 2)};  // -Wdangling-pointer false positive)
    Tensor<float> step{Shape()};
    bool initialised = false;
    void init_state() { initialised = true; }
    std::vector<std::pair<std::string, Tensor<float>*>> state_tensors() {
        return {{"group.0.param.0.momentum_buffer", &momentum}, {"group.0.param.0.step", &step}};
    }
};
}  // namespace

TEST_CASE("Optimizer-style state and schedule doubles plug in without depending on optim/", "[io][checkpoint]") {
    FakeOptimizer a;
    Generator gen(3);
    a.momentum.fill_normal(gen);
    a.step[0] = 17;
    io::Checkpoint ck;
    ck.add_optimizer(a);
    ck.add_doubles("sched.state", {4, 0.1, 0.05});
    CHECK(ck.names("optim.") == std::vector<std::string>{"optim.group.0.param.0.momentum_buffer", "optim.group.0.param.0.step"});
    FakeOptimizer b;
    const io::LoadReport r = io::Checkpoint::from_bytes(ck.to_bytes()).load_optimizer(b);
    CHECK(b.initialised);
    CHECK(r.loaded.size() == 2);
    CHECK(b.step[0] == 17);
    CHECK(b.momentum.array().isApprox(a.momentum.array()));
    ck.remove("optim.group.0.param.0.step");
    FakeOptimizer c;
    CHECK_THROWS_WITH(ck.load_optimizer(c), Contains("does not match the state tensors: 1 missing, 0 unexpected, 0 with another "
                                                     "shape, 0 with another dtype\n  missing: 'optim.group.0.param.0.step' for "
                                                     "state tensor"));
    CHECK(c.momentum.array().abs().sum() == 0);  // nothing loaded
}

#ifdef STRATA_CKPT_TEST_SGD
TEST_CASE("Resuming SGD with momentum from a checkpoint continues bit-identically", "[io][checkpoint][optim]") {
    auto run = [](nn::Module<float>& m, optim::SGD<float>& opt, int steps, std::uint64_t seed) {
        Generator gen(seed);
        for (int s = 0; s < steps; ++s) {
            for (auto* p : m.parameters()) p->grad().fill_normal(gen);
            opt.step();
        }
    };
    auto a = tiny<float>(1);
    optim::SGD<float> opt_a(a->parameters(), optim::SGDOptions(0.1).momentum(0.9));
    run(*a, opt_a, 3, 5);
    io::Checkpoint ck = io::Checkpoint::from_module(*a);
    ck.add_optimizer(opt_a);
    CHECK(ck.has("optim.group.0.param.0.momentum_buffer"));
    const io::Checkpoint saved = io::Checkpoint::from_bytes(ck.to_bytes());
    run(*a, opt_a, 2, 6);

    auto b = tiny<float>(2);
    optim::SGD<float> opt_b(b->parameters(), optim::SGDOptions(0.1).momentum(0.9));
    saved.load_into(*b);
    CHECK(saved.load_optimizer(opt_b).complete());
    run(*b, opt_b, 2, 6);
    CHECK(snapshot(*a) == snapshot(*b));
}
#endif

TEST_CASE("A failed save leaves the previous checkpoint loadable and no temporary file", "[io][checkpoint]") {
    TempDir dir;
    const std::string path = dir.file("model.ck");
    auto v1 = tiny<float>(1);
    io::Checkpoint::from_module(*v1).save(path);
    auto v2 = tiny<float>(2);
    const io::Checkpoint next = io::Checkpoint::from_module(*v2);
    {
        io::detail::ScopedWriteFault disk_full({io::WriteStep::write, 100, ENOSPC});
        CHECK_THROWS_AS(next.save(path), IoError);
        CHECK_THROWS_WITH(next.save(path), Contains("cannot save " + path) && Contains("No space left on device") &&
                                               Contains("the previous file (if any) is unchanged"));
    }
    CHECK(dir.listing() == std::vector<std::string>{"model.ck"});
    auto model = tiny<float>(3);
    io::Checkpoint::load(path).load_into(*model);
    CHECK(snapshot(*model) == snapshot(*v1));
    next.save(path);  // without the fault it replaces the file
    io::Checkpoint::load(path).load_into(*model);
    CHECK(snapshot(*model) == snapshot(*v2));
    CHECK(dir.listing() == std::vector<std::string>{"model.ck"});
}

TEST_CASE("crc32 is the standard CRC-32 and the documented example file is byte exact", "[io][checkpoint][crc32]") {
    const std::string check = "123456789";
    CHECK(io::crc32(check.data(), check.size()) == 0xCBF43926u);
    CHECK(io::crc32(nullptr, 0) == 0u);
    CHECK(io::crc32(check.data() + 4, 5, io::crc32(check.data(), 4)) == 0xCBF43926u);  // incremental
#ifdef STRATA_HAS_ZLIB
    std::vector<std::uint8_t> noise(4099);
    Generator gen(11);
    for (auto& b : noise) b = static_cast<std::uint8_t>(gen.below(256));
    CHECK(io::crc32(noise.data(), noise.size()) == ::crc32(0, noise.data(), static_cast<uInt>(noise.size())));
#endif
    // docs/checkpoint-format.md: one entry, meta.epoch = 3.
    const std::vector<std::uint8_t> expected = {
        'S', 'T', 'R', 'A', 'T', 'A', 'C', 'K', 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,  // magic, version, count
        10, 0, 0, 0, 'm', 'e', 't', 'a', '.', 'e', 'p', 'o', 'c', 'h',              // name
        3, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,                       // i64, rank 0, 8 bytes, 3
        0xcf, 0xc7, 0x8d, 0xd0};                                                     // CRC-32
    io::Checkpoint ck;
    ck.add_scalar("meta.epoch", 3);
    CHECK(ck.to_bytes() == expected);
}
