// A downstream program: builds c = a + b + a with a broadcast bias b, runs backward with a ones seed and
// checks the gradients against hand-derived values (dc/da = 2, dc/db = 2 per bias element: it is broadcast
// over 2 rows). Then deploys a model the way a downstream program does: models::save_model of a small CIFAR-style
// ResNet, models::load_model of the file with no architecture code, and the same eval-mode output. Exits non-zero
// on any mismatch.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "strata/autograd/tape.hpp"
#include "strata/models/model_file.hpp"
#include "strata/ops/add.hpp"
#include "strata/version.hpp"

namespace {
int failures = 0;

void expect_near(const char* what, double got, double want) {
    if (std::fabs(got - want) > 1e-6) {
        std::printf("FAIL %s: got %.9g, want %.9g\n", what, got, want);
        ++failures;
    }
}
}  // namespace

int main() {
    using namespace strata;
    std::printf("strata %s (consumer)\n", STRATA_VERSION_STRING);

    Tape tape;
    Tensor<float> a_init(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor<float> b_init(Shape{3}, {10, 20, 30});
    Var<float> a = tape.variable(a_init);
    Var<float> b = tape.variable(b_init);
    Var<float> c = a + b + a;  // [2, 3]

    for (index_t i = 0; i < 6; ++i) expect_near("c value", c.value()[i], 2.0 * a_init[i] + b_init[i % 3]);

    Tensor<float> seed(Shape{2, 3}, 1.0f);
    tape.backward(c, seed.view());
    for (index_t i = 0; i < 6; ++i) expect_near("dc/da", a.grad()[i], 2.0);
    for (index_t j = 0; j < 3; ++j) expect_near("dc/db", b.grad()[j], 2.0);

    // Deployment: a model file that carries its architecture.
    auto net = models::cifar_resnet<float>(8, models::ResNetOptions().in_channels(1).num_classes(4).widths({2, 4, 8}));
    net->eval();
    const std::string path =
        (std::filesystem::temp_directory_path() / ("strata_consumer_" + std::to_string(std::rand()) + ".strata")).string();
    models::save_model(path, *net);
    auto served = models::load_model<float>(path);  // no architecture code here
    std::filesystem::remove(path);
    Tensor<float> image(Shape{1, 1, 8, 8}, 0.25f);
    Tape serving;
    const Var<float> want = (*net)(serving.constant(image));
    const Var<float> got = (*served)(serving.constant(image));
    for (index_t i = 0; i < 4; ++i) expect_near("load_model output", got.value()[i], want.value()[i]);

    if (failures != 0) {
        std::printf("strata consumer: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("strata consumer: ok\n");
    return 0;
}
