// One translation unit that builds and trains ResNet-18: the compile-time check of issue 3. Measure with
//   /usr/bin/time -v g++ -std=c++17 -O2 -DNDEBUG -fopenmp -Iinclude -I/usr/include/eigen3 -c benchmarks/compile_time_resnet18.cpp -o /tmp/t.o
#include "strata/models/resnet.hpp"
#include "strata/ops/cross_entropy.hpp"
#include "strata/optim/sgd.hpp"

int main() {
    using namespace strata;
    auto net = models::resnet18<float>(models::ResNetOptions().in_channels(1).num_classes(10));
    optim::SGD<float> opt(net->parameters(), optim::SGDOptions(0.01).momentum(0.9));
    Tensor<float> x(Shape{8, 1, 28, 28});
    std::vector<index_t> y{0, 1, 2, 3, 4, 5, 6, 7};
    Tape tape;
    for (int step = 0; step < 2; ++step) {
        tape.rewind();
        Var<float> loss = cross_entropy((*net)(tape.constant(x)), y);
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    return 0;
}
