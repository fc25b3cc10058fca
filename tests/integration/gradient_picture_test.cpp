// The gradient picture at initialisation (issue 3 / 4): CIFAR-style depth-56 nets, Kaiming fan-out init, one
// normalised Fashion-MNIST batch of 128. Reference values measured with PyTorch on this machine:
//   no normalisation: plain first-conv weight-gradient norm ~0.0008-0.001 (1/25-1/40 of the last conv's),
//                     plain + aux heads ~0.003-0.005, zero-init residual ~0.03 (1/5 of the last conv's);
//   batch-norm:       plain first conv ~350 (over 1000x the last conv's), residual ~2.
// strata at seeds 1-6 (no norm; first/last): plain 0.0019/0.012, 0.0011/0.013, 0.0014/0.021, 0.0002/0.0099,
// 0.0062/0.040, 0.0013/0.026; plain + heads 0.0046, 0.0030, 0.0074, 0.0036, 0.034, 0.0035; residual 0.036/0.16,
// 0.033/0.11, 0.030/0.12, 0.028/0.12, 0.032/0.20, 0.030/0.12. The assertions below hold at every one of those
// seeds (seed 5 is the closest call for plain vs residual: 5x).
// STRATA_TEST_SCALE=small (the sanitizer build, 1/16 of the work): a batch of 8 images. The picture is noisier
// there; at seeds 1-6 (no norm; first/last): plain 0.0038/0.10, 0.0037/0.093, 0.0097/0.12, 0.0006/0.079,
// 0.026/0.21, 0.0049/0.17; plain + heads 0.019, 0.010, 0.010, 0.0064, 0.097, 0.010; residual 0.15/0.75,
// 0.063/0.57, 0.086/0.52, 0.13/0.69, 0.060/0.86, 0.17/0.78; batch-norm plain first 1800-3900, residual 6-12.
// The three ratios marked "small:" below are loosened to hold at all six seeds (closest: seed 3, heads 1.07x;
// seed 5, residual 2.3x plain and 1/14 of its last conv).

#include <catch2/catch.hpp>

#include <cmath>

#include "strata/data/mnist.hpp"
#include "strata/models/resnet.hpp"
#include "strata/nn/deep_supervision.hpp"
#include "integration/test_scale.hpp"

using namespace strata;
using namespace strata::models;
using strata::testing::scaled;

namespace {

struct Picture {
    double first = 0;  ///< L2 norm of the stem conv's weight gradient
    double last = 0;   ///< L2 norm of the last conv's weight gradient (main path)
};

/// The first 128 (small: 8) normalised training images.
const data::Dataset& first_batch() {
    static const data::Dataset batch = [] {
        data::Dataset train = data::load_mnist(STRATA_DATA_DIR, data::Split::train)
                                  .head(scaled<index_t>(128, 8));
        train.normalize(data::fashion_mnist_mean, data::fashion_mnist_std);
        return train;
    }();
    return batch;
}

Picture measure(Norm norm, bool residual, std::vector<int> aux_after = {}, std::uint64_t seed = 1) {
    auto opts = ResNetOptions()
                    .in_channels(1)
                    .num_classes(10)
                    .norm(norm)
                    .shortcut(residual ? Shortcut::zero_pad : Shortcut::none)
                    .zero_init_residual(residual && norm == Norm::none)
                    .aux_after(std::move(aux_after))
                    .input_size(28)
                    .seed(seed);
    auto net = cifar_resnet<float>(56, opts);
    const data::Dataset& data = first_batch();
    Tape tape;
    nn::DeepSupervisionLoss<float> loss;  // cross-entropy, aux heads weighted 0.3
    loss(nn::forward_with_aux(*net, tape.constant(data.images())), data.labels()).backward();
    Picture p;
    p.first = net->stem_conv().weight().grad().array().matrix().norm();
    for (auto& np : net->named_parameters())
        if (np.name.rfind("layer", 0) == 0 && np.name.find("conv") != std::string::npos &&
            np.name.find("weight") != std::string::npos)
            p.last = np.parameter->grad().array().matrix().norm();
    return p;
}

}  // namespace

TEST_CASE("Without normalisation, a deep plain net's gradients vanish toward the input", "[integration][gradients]") {
    const Picture plain = measure(Norm::none, false);
    const Picture residual = measure(Norm::none, true);
    const Picture heads = measure(Norm::none, false, {1, 2});
    WARN("no norm, depth 56: plain first " << plain.first << " last " << plain.last << "; plain+heads first "
                                          << heads.first << "; zero-init residual first " << residual.first
                                          << " last " << residual.last);
    CHECK(plain.first < plain.last / 5);                         // PyTorch: 1/20 to 1/40
    CHECK(residual.first > residual.last / scaled(10.0, 20.0));  // PyTorch: about 1/5; small: 1/20
    CHECK(residual.first > scaled(4.0, 2.0) * plain.first);      // PyTorch: about 30x (seed 1: 19x); small: 2x
    // Auxiliary heads shorten the path too: the first conv gets more gradient than without them (PyTorch ~4x).
    CHECK(heads.first > scaled(2.0, 1.0) * plain.first);  // small: more than without heads
}

TEST_CASE("With batch-norm, a deep plain net's lower-layer gradients explode instead", "[integration][gradients]") {
    const Picture plain = measure(Norm::batch, false);
    const Picture residual = measure(Norm::batch, true);
    WARN("batch-norm, depth 56: plain first " << plain.first << " last " << plain.last << "; residual first "
                                             << residual.first << " last " << residual.last);
    CHECK(plain.first > 100 * plain.last);     // PyTorch: over 1000x
    CHECK(plain.first > 20 * residual.first);  // PyTorch: ~350 vs ~2
    CHECK(residual.first < 20);
}
