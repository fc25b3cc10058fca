#pragma once
// The workload of model_bench and model_profile: ResNet-18 / Plain-18 (and the CIFAR-style resnet20 / plain20)
// on a fixed random batch of 1x28x28 images, as the PyTorch peer /work/shared/peers/torch_resnet18.py builds it.

#include <memory>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "strata/models/resnet.hpp"
#include "strata/ops/cross_entropy.hpp"
#include "strata/optim/sgd.hpp"

namespace strata::bench {

/// Sets the thread count of OpenMP and Eigen.
inline void set_threads(int threads) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    Eigen::setNbThreads(threads);
}

enum class Net { resnet18, plain18, resnet20, plain20 };

/// The net, as train_mnist builds it (examples/train_mnist/registry.hpp).
inline std::unique_ptr<models::ResNet<float>> make_net(Net net) {
    auto options = models::ResNetOptions().in_channels(1).num_classes(10);
    switch (net) {
        case Net::resnet18: return models::resnet18<float>(options);
        case Net::plain18: return models::plain18<float>(options);
        case Net::resnet20: return models::cifar_resnet<float>(20, options.shortcut(models::Shortcut::zero_pad));
        case Net::plain20: break;
    }
    return models::cifar_plain<float>(20, options);
}

/// A fixed random batch with random labels (the peer uses torch.randn / randint).
struct Batch {
    Tensor<float> x;
    std::vector<index_t> labels;

    explicit Batch(index_t batch) : x(Shape{batch, 1, 28, 28}), labels(static_cast<std::size_t>(batch)) {
        Generator gen(0);
        x.fill_normal(gen);
        for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<index_t>(i * 7 % 10);
    }
};

/// One training step of `net` on a fixed batch, as the PyTorch peer's loop: rewind, forward, cross-entropy,
/// zero_grad, backward, SGD-momentum step.
struct TrainStep {
    std::unique_ptr<models::ResNet<float>> model;
    optim::SGD<float> opt;
    Batch data;
    Tape tape;

    TrainStep(Net net, index_t batch)
        : model(make_net(net)), opt(model->parameters(), optim::SGDOptions(0.01).momentum(0.9)), data(batch) {
        model->train();
    }
    /// Runs one step and returns its loss.
    Var<float> operator()() {
        tape.rewind();
        Var<float> loss = cross_entropy((*model)(tape.constant(data.x)), data.labels);
        opt.zero_grad();
        loss.backward();
        opt.step();
        return loss;
    }
};

}  // namespace strata::bench
