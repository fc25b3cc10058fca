// Every ImageNet-style factory on a full-size 3x224x224 image (the 28x28 and 32x32 cases are unit tests);
// STRATA_TEST_SCALE=small (the sanitizer build): on 3x64x64, through the same layers (global average pooling makes
// the output [1, 1000] either way).
#include <catch2/catch.hpp>

#include "strata/models/resnet.hpp"
#include "integration/test_scale.hpp"

using namespace strata;
using namespace strata::models;

TEST_CASE("ImageNet-style factories give [1, 1000] on 3x224x224", "[integration][models]") {
    const index_t side = strata::testing::scaled<index_t>(224, 64);
    for (auto make : {resnet18<float>, resnet34<float>, resnet50<float>, plain18<float>, plain34<float>}) {
        auto net = make(ResNetOptions());
        net->eval();
        Tape tape;
        NoGradGuard no_grad(tape);
        Tensor<float> x(Shape{1, 3, side, side});
        CHECK((*net)(tape.constant(x)).shape() == Shape{1, 1000});
    }
}
