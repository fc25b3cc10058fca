// serve: runs a trained strata model on images and prints each image's class and class probabilities.
//
//   serve model.strata --idx t10k-images-idx3-ubyte.gz            # IDX images (bytes, scaled to [0, 1])
//   serve model.strata --stdin < images.f32                        # raw little-endian float32 images
//   serve model.strata --idx images.idx --limit 1 --benchmark 200  # batch-1 latency (median, to stderr)
//
// The model file carries its architecture (models::save_model, or a train_mnist checkpoint), so this program has
// no code for any architecture: copy it to serve your own models. Output: one line per image,
//   <index> <class> <p_0> <p_1> ... <p_{classes-1}>
// Exit status 0, or 1 with one message on stderr naming the problem (bad file, bad input size, bad option).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <strata/io/idx.hpp>
#include <strata/models/model_file.hpp>
#include <strata/ops/log_softmax.hpp>

using namespace strata;

namespace {

struct Options {
    std::string model;
    std::string idx;
    bool from_stdin = false;
    index_t height = 28, width = 28;
    double mean = 0, std = 1;
    index_t limit = -1;
    int benchmark = 0;
};

/// The images of an IDX file [N, H, W] of bytes as [N, channels, H, W] floats: byte / 255, then (x - mean) / std.
Tensor<float> read_idx_images(const Options& o, index_t channels) {
    const io::IdxArray a = io::read_idx(o.idx, 3);
    check<FormatError>(channels == 1, o.idx, ": IDX images have 1 channel but the model takes ", channels);
    index_t n = a.shape[0];
    if (o.limit >= 0) n = std::min(n, o.limit);
    Tensor<float> x(Shape{n, 1, a.shape[1], a.shape[2]});
    for (index_t i = 0; i < x.numel(); ++i)
        x[i] = static_cast<float>((a.data[static_cast<std::size_t>(i)] / 255.0 - o.mean) / o.std);
    return x;
}

/// Raw little-endian float32 images of channels x height x width from stdin (used as they are).
Tensor<float> read_stdin_images(const Options& o, index_t channels) {
    std::freopen(nullptr, "rb", stdin);
    std::vector<char> bytes((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    const auto per_image = static_cast<std::size_t>(channels * o.height * o.width) * sizeof(float);
    check<FormatError>(!bytes.empty(), "stdin: no input (expected raw float32 images of ", channels, "x", o.height,
                       "x", o.width, ", ", per_image, " bytes each)");
    check<FormatError>(bytes.size() % per_image == 0, "stdin: ", bytes.size(),
                       " bytes is not a whole number of float32 images of ", channels, "x", o.height, "x", o.width,
                       " (", per_image, " bytes each; set --height/--width to the model's input)");
    index_t n = static_cast<index_t>(bytes.size() / per_image);
    if (o.limit >= 0) n = std::min(n, o.limit);
    Tensor<float> x(Shape{n, channels, o.height, o.width});
    std::memcpy(x.data(), bytes.data(), static_cast<std::size_t>(x.numel()) * sizeof(float));
    for (index_t i = 0; i < x.numel(); ++i)
        check<FormatError>(std::isfinite(x[i]), "stdin: value ", x[i], " at image ", i / (channels * o.height * o.width),
                           ", element ", i % (channels * o.height * o.width), " is not finite");
    return x;
}

/// One image [1, C, H, W] of `x`.
Tensor<float> image(const Tensor<float>& x, index_t i) {
    const index_t per = x.numel() / x.shape()[0];
    Tensor<float> one(Shape{1, x.shape()[1], x.shape()[2], x.shape()[3]});
    std::copy(x.data() + i * per, x.data() + (i + 1) * per, one.data());
    return one;
}

int run(const Options& o) {
    const io::Checkpoint file = io::Checkpoint::load(o.model);
    auto model = models::load_model<float>(file);  // eval mode
    const auto channels = static_cast<index_t>(file.get_scalar<std::int64_t>("arch.in_channels"));
    const Tensor<float> x = o.from_stdin ? read_stdin_images(o, channels) : read_idx_images(o, channels);

    Tape tape;
    NoGradGuard no_grad(tape);
    if (o.benchmark > 0) {  // batch-1 latency of the first image: median of `benchmark` runs after 5 warm-up runs
        check<ArgumentError>(x.shape()[0] > 0, "--benchmark needs at least one image");
        const Tensor<float> one = image(x, 0);
        std::vector<double> ms;
        for (int r = 0; r < o.benchmark + 5; ++r) {
            tape.rewind();
            const auto t0 = std::chrono::steady_clock::now();
            (*model)(tape.constant(one));
            const auto t1 = std::chrono::steady_clock::now();
            if (r >= 5) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        std::fprintf(stderr, "batch-1 latency over %d runs: median %.3f ms, min %.3f ms, p90 %.3f ms\n", o.benchmark,
                     ms[ms.size() / 2], ms.front(), ms[ms.size() * 9 / 10]);
    }
    for (index_t i = 0; i < x.shape()[0]; ++i) {  // one request at a time, as a server answers them
        tape.rewind();
        const Tensor<float> one = image(x, i);
        const Var<float> logp = log_softmax((*model)(tape.constant(one)));
        const float* lp = logp.value().data();
        const index_t classes = logp.value().numel();
        const index_t best = static_cast<index_t>(std::max_element(lp, lp + classes) - lp);
        std::printf("%lld %lld", static_cast<long long>(i), static_cast<long long>(best));
        for (index_t c = 0; c < classes; ++c) std::printf(" %.6f", std::exp(static_cast<double>(lp[c])));
        std::printf("\n");
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"Runs a trained strata model (a models::save_model file or a train_mnist checkpoint) on images "
                 "and prints, per image: index, class, and the probability of each class."};
    app.add_option("model", o.model, "Model file (carries its architecture)")->required();
    auto* idx = app.add_option("--idx", o.idx, "IDX file of images [N, H, W] (unsigned bytes, .gz accepted)");
    auto* in = app.add_flag("--stdin", o.from_stdin, "Read raw little-endian float32 images [N, C, H, W] from stdin");
    idx->excludes(in);
    app.add_option("--height", o.height, "Image height of --stdin input")->check(CLI::PositiveNumber);
    app.add_option("--width", o.width, "Image width of --stdin input")->check(CLI::PositiveNumber);
    app.add_option("--mean", o.mean, "IDX input: subtract this from byte/255 (the trainer's normalisation)");
    app.add_option("--std", o.std, "IDX input: then divide by this")->check(CLI::PositiveNumber);
    app.add_option("--limit", o.limit, "Only the first N images")->check(CLI::NonNegativeNumber);
    app.add_option("--benchmark", o.benchmark, "Also time N batch-1 forwards of the first image (stderr)")
        ->check(CLI::NonNegativeNumber);
    CLI11_PARSE(app, argc, argv);
    if (o.idx.empty() && !o.from_stdin) {
        std::fprintf(stderr, "serve: give the images with --idx FILE or --stdin (see --help)\n");
        return 1;
    }
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "serve: %s\n", e.what());
        return 1;
    }
}
