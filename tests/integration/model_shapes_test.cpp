// Every ImageNet-style factory on a full-size 3x224x224 image (the 28x28 and 32x32 cases are unit tests).
#include <catch2/catch.hpp>

#include "strata/models/resnet.hpp"

using namespace strata;
using namespace strata::models;

TEST_CASE("ImageNet-style factories give [1, 1000] on 3x224x224", "[integration][models]") {
    for (auto make : {resnet18<float>, resnet34<float>, resnet50<float>, plain18<float>, plain34<float>}) {
        auto net = make(ResNetOptions());
        net->eval();
        Tape tape;
        NoGradGuard no_grad(tape);
        Tensor<float> x(Shape{1, 3, 224, 224});
        CHECK((*net)(tape.constant(x)).shape() == Shape{1, 1000});
    }
}
