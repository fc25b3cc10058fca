// Model files that carry their architecture: save_model / load_model for every family the registry builds.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>

#include "strata/models/model_file.hpp"
#include "strata/models/registry.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"

using namespace strata;
using Catch::Contains;

namespace {

namespace fs = std::filesystem;

/// A file path in a fresh directory, removed at the end of the test.
struct TempFile {
    fs::path dir;
    std::string path;
    explicit TempFile(const std::string& name) {
        static int counter = 0;
        dir = fs::temp_directory_path() / ("strata_model_file_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::create_directories(dir);
        path = (dir / name).string();
    }
    ~TempFile() { fs::remove_all(dir); }
};

/// Random parameters and running statistics (variances positive), so that a load that missed one shows.
template <class T>
void randomise(nn::Module<T>& m, std::uint64_t seed) {
    Generator gen(seed);
    for (auto& np : m.named_parameters()) np.parameter->value.fill_normal(gen, 0.0, 0.3);
    for (auto& nb : m.named_buffers()) nb.buffer->fill_uniform(gen, 0.5, 1.5);
}

/// The eval-mode output of `m` on a fixed input of [2, c, size, size].
template <class T>
std::vector<T> eval_output(nn::Module<T>& m, index_t c, index_t size) {
    m.eval();
    Tensor<T> x(Shape{2, c, size, size});
    Generator gen(42);
    x.fill_normal(gen);
    Tape tape;
    Var<T> y = m(tape.constant(x));
    return std::vector<T>(y.value().data(), y.value().data() + y.value().numel());
}

template <class T>
using Builder = std::function<std::unique_ptr<nn::Module<T>>()>;

/// Each family the registry builds, small, with the input it takes.
template <class T>
std::vector<std::tuple<std::string, Builder<T>, index_t, index_t>> families() {
    const auto small = models::ResNetOptions().in_channels(1).num_classes(5).widths({2, 4, 8, 16}).input_size(32);
    const auto cifar = models::ResNetOptions().in_channels(3).num_classes(10).widths({4, 8, 16}).input_size(16);
    auto spec = models::ModelSpec().in_channels(1).num_classes(10);
    return {
        {"resnet18", [=]() -> std::unique_ptr<nn::Module<T>> { return models::resnet18<T>(small); }, 1, 32},
        {"resnet34-aux", [=]() -> std::unique_ptr<nn::Module<T>> { return models::resnet34<T>(models::ResNetOptions(small).aux_after({1, 2, 3})); }, 1, 32},
        {"resnet50", [=]() -> std::unique_ptr<nn::Module<T>> { return models::resnet50<T>(small); }, 1, 32},
        {"plain18", [=]() -> std::unique_ptr<nn::Module<T>> { return models::plain18<T>(small); }, 1, 32},
        {"plain34-googlenet-aux",
         [=]() -> std::unique_ptr<nn::Module<T>> { return models::plain34<T>(models::ResNetOptions(small).aux_after({2}).aux_head(nn::AuxHeadKind::googlenet)); }, 1, 32},
        {"resnet20-zero-pad", [=]() -> std::unique_ptr<nn::Module<T>> { return models::cifar_resnet<T>(20, models::ResNetOptions(cifar).shortcut(nn::Shortcut::zero_pad)); }, 3, 16},
        {"plain20-no-norm", [=]() -> std::unique_ptr<nn::Module<T>> { return models::cifar_plain<T>(20, models::ResNetOptions(cifar).norm(nn::Norm::none)); }, 3, 16},
        {"resnet8-aux (registry)", [=]() -> std::unique_ptr<nn::Module<T>> { return models::make_model<T>("resnet8-aux", spec); }, 1, 28},
        {"resnet8-aux stripped",
         [=]() -> std::unique_ptr<nn::Module<T>> {
             auto m = models::make_model<T>("resnet8-aux", spec);
             nn::strip_aux_heads(*m);
             return m;
         }, 1, 28},
        {"dsn (registry)", [=]() -> std::unique_ptr<nn::Module<T>> { return models::make_model<T>("dsn", spec); }, 1, 28},
        {"dsn, one head stripped",
         [=]() -> std::unique_ptr<nn::Module<T>> {
             auto m = models::dsn<T>(models::DsnOptions().widths({4, 8, 8}).norm(nn::Norm::none));
             m->aux_head(1)->strip();
             return m;
         }, 1, 28},
    };
}

template <class T>
void check_round_trips() {
    for (auto& [name, build, channels, size] : families<T>()) {
        INFO(name);
        auto model = build();
        randomise(*model, 7);
        TempFile file("net.strata");
        models::save_model(file.path, *model);
        auto loaded = models::load_model<T>(file.path);
        CHECK_FALSE(loaded->is_training());
        CHECK(loaded->type_name() == model->type_name());
        const auto a = model->named_parameters(), b = loaded->named_parameters();
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].name == b[i].name);
        CHECK(model->named_buffers().size() == loaded->named_buffers().size());
        CHECK(model->named_modules().size() == loaded->named_modules().size());  // stripped heads stay stripped
        CHECK(eval_output(*model, channels, size) == eval_output(*loaded, channels, size));  // bit-identical
    }
}

}  // namespace

TEST_CASE("save_model / load_model round-trip every registry family in float", "[models][model_file]") {
    check_round_trips<float>();
}

TEST_CASE("save_model / load_model round-trip every registry family in double", "[models][model_file]") {
    check_round_trips<double>();
}

TEST_CASE("A float model file loads as a double model", "[models][model_file]") {
    auto model = models::make_model<float>("resnet8", models::ModelSpec());
    randomise(*model, 3);
    TempFile file("net.strata");
    models::save_model(file.path, *model);
    auto d = models::load_model<double>(file.path);
    const auto pf = model->named_parameters();
    const auto pd = d->named_parameters();
    REQUIRE(pf.size() == pd.size());
    CHECK(static_cast<float>(pd.back().parameter->value[3]) == pf.back().parameter->value[3]);
}

TEST_CASE("Model files stay ordinary checkpoints: load_into reads them, and old files load as before",
          "[models][model_file]") {
    auto model = models::make_model<float>("plain8", models::ModelSpec());
    randomise(*model, 5);
    TempFile file("net.strata");
    models::save_model(file.path, *model);
    const io::Checkpoint ck = io::Checkpoint::load(file.path);
    CHECK(ck.get_string("arch.type") == "ResNet");
    CHECK(ck.get_scalar<int>("arch.format") == 1);
    auto same = models::make_model<float>("plain8", models::ModelSpec());
    CHECK(ck.load_into(*same).complete());  // arch.* is another section
    CHECK(eval_output(*same, 1, 28) == eval_output(*model, 1, 28));

    // A weights-only checkpoint (io::Checkpoint::from_module, or any file of an older strata) still loads with
    // load_into, and load_model says what to do with it.
    io::Checkpoint::from_module(*model).save(file.path);
    CHECK(io::Checkpoint::load(file.path).load_into(*same).complete());
    CHECK_THROWS_AS(models::load_model<float>(file.path), FormatError);
    CHECK_THROWS_WITH(models::load_model<float>(file.path),
                      Contains(file.path + " holds weights but no architecture") && Contains("load_into(model)"));
}

TEST_CASE("save_model refuses a custom Module, saying what to do instead, and writes nothing", "[models][model_file]") {
    nn::Sequential<float> custom;
    custom.emplace<nn::Linear<float>>(nn::LinearOptions(3, 2));
    TempFile file("custom.strata");
    CHECK_THROWS_AS(models::save_model(file.path, custom), ArgumentError);
    CHECK_THROWS_WITH(models::save_model(file.path, custom),
                      Contains("save_model: a Sequential is not a model strata can rebuild from a file") &&
                          Contains("io::Checkpoint::from_module(model).save(path)") &&
                          Contains("io::Checkpoint::load(path).load_into(model)"));
    CHECK_FALSE(fs::exists(file.path));
}

TEST_CASE("Truncated, corrupt and invalid model files give clear errors; a failed save keeps the old file",
          "[models][model_file]") {
    auto model = models::make_model<float>("resnet8", models::ModelSpec());
    TempFile file("net.strata");
    models::save_model(file.path, *model);
    const auto size = fs::file_size(file.path);
    std::vector<char> bytes(size);
    std::ifstream(file.path, std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(size));
    auto write = [&](const std::vector<char>& b) {
        std::ofstream(file.path, std::ios::binary | std::ios::trunc).write(b.data(), static_cast<std::streamsize>(b.size()));
    };

    SECTION("truncated") {
        write(std::vector<char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size / 2)));
        CHECK_THROWS_AS(models::load_model<float>(file.path), FormatError);
        CHECK_THROWS_WITH(models::load_model<float>(file.path), Contains(file.path) && Contains("truncated"));
    }
    SECTION("one flipped byte") {
        auto b = bytes;
        b[size / 2] = static_cast<char>(b[size / 2] ^ 0x10);
        write(b);
        CHECK_THROWS_WITH(models::load_model<float>(file.path), Contains("checksum mismatch"));
    }
    SECTION("a newer or invalid architecture description") {
        auto with = [&](const std::string& key, auto value) {
            io::Checkpoint ck = io::Checkpoint::load(file.path);
            ck.remove("arch." + key);
            if constexpr (std::is_same_v<decltype(value), const char*>) ck.add_string("arch." + key, value);
            else ck.add_scalar("arch." + key, value);
            return ck;
        };
        CHECK_THROWS_WITH(models::load_model<float>(with("format", std::int64_t{2})),
                          Contains("architecture format 2 is newer than this strata supports (1)"));
        CHECK_THROWS_WITH(models::load_model<float>(with("stem", "vgg")),
                          Contains("arch.stem is 'vgg', expected one of imagenet, cifar"));
        CHECK_THROWS_WITH(models::load_model<float>(with("type", "Transformer")),
                          Contains("arch.type is 'Transformer', expected ResNet or DSN"));
        CHECK_THROWS_WITH(models::load_model<float>(with("num_classes", std::int64_t{-3})),
                          Contains("arch.num_classes is -3, expected 1 to"));
        // Another architecture than the weights: the usual CheckpointMismatch.
        CHECK_THROWS_AS(models::load_model<float>(with("num_classes", std::int64_t{7})), CheckpointMismatch);
    }
    SECTION("a description far larger than the weights it comes with is refused before anything is allocated") {
        // Each value is in its entry's range, but building the net would allocate 1.2e11 (widths: 9 x 65536^2 per
        // block, three blocks) or 1.1e9 (classes x 64) weights for a file of a resnet8's weights: without the
        // check, bad_alloc or the OOM killer.
        io::Checkpoint ck = io::Checkpoint::load(file.path);
        ck.remove("arch.widths");
        const std::vector<std::int64_t> huge{65536, 65536, 65536};
        ck.add_array<std::int64_t>("arch.widths", huge.data(), {3});
        CHECK_THROWS_AS(models::load_model<float>(ck), FormatError);
        CHECK_THROWS_WITH(models::load_model<float>(ck),
                          Contains("the architecture describes at least") && Contains("arch.* entries are corrupt"));
        io::Checkpoint classes = io::Checkpoint::load(file.path);
        classes.remove("arch.num_classes");
        classes.add_scalar("arch.num_classes", std::int64_t{1} << 24);
        CHECK_THROWS_WITH(models::load_model<float>(classes), Contains("arch.* entries are corrupt"));
        // A DSN's description likewise.
        auto dsn = models::make_model<float>("dsn", models::ModelSpec());
        io::Checkpoint d = models::model_checkpoint(*dsn);
        d.remove("arch.widths");
        d.add_array<std::int64_t>("arch.widths", huge.data(), {3});
        CHECK_THROWS_WITH(models::load_model<float>(d), Contains("arch.* entries are corrupt"));
    }
    SECTION("a save that fails leaves the previous file intact") {
        auto other = models::make_model<float>("plain8", models::ModelSpec());
        {
            io::detail::ScopedWriteFault disk_full({io::WriteStep::write, 100, ENOSPC});
            CHECK_THROWS_AS(models::save_model(file.path, *other), IoError);
        }
        CHECK(fs::file_size(file.path) == size);
        CHECK(models::load_model<float>(file.path)->named_parameters().size() == model->named_parameters().size());
        CHECK(std::distance(fs::directory_iterator(file.dir), fs::directory_iterator()) == 1);  // no temporary left
    }
}
