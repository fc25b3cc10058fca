// strata quickstart: define a small CNN, train it on 4,000 Fashion-MNIST images, evaluate it on 1,000 more.
// Usage: quickstart [data-dir]   (default: /usr/share/datasets/fashion-mnist)
#include <cstdio>
#include <strata/strata.hpp>

using namespace strata;

int main(int argc, char** argv) try {
    const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    data::Dataset train = data::load_mnist(dir, data::Split::train).head(4000);
    data::Dataset test = data::load_mnist(dir, data::Split::test).head(1000);
    train.normalize(data::fashion_mnist_mean, data::fashion_mnist_std);
    test.normalize(data::fashion_mnist_mean, data::fashion_mnist_std);

    manual_seed(0);
    nn::Sequential<float> net;
    net.emplace<nn::Conv2d<float>>(nn::Conv2dOptions(1, 16, 3).padding(1).bias(false));
    net.emplace<nn::BatchNorm2d<float>>(nn::BatchNormOptions(16));
    net.emplace<nn::ReLU<float>>();
    net.emplace<nn::MaxPool2d<float>>(nn::Pool2dOptions(2));  // 14x14
    net.emplace<nn::Conv2d<float>>(nn::Conv2dOptions(16, 32, 3).padding(1).bias(false));
    net.emplace<nn::BatchNorm2d<float>>(nn::BatchNormOptions(32));
    net.emplace<nn::ReLU<float>>();
    net.emplace<nn::MaxPool2d<float>>(nn::Pool2dOptions(2));  // 7x7
    net.emplace<nn::Flatten<float>>();
    net.emplace<nn::Linear<float>>(nn::LinearOptions(32 * 7 * 7, 10));

    optim::SGD<float> optimizer(net.parameters(), optim::SGDOptions(0.05).momentum(0.9));
    data::LoaderOptions loader_options;
    loader_options.batch_size = 64;
    data::DataLoader loader(train, loader_options);
    Tape tape;
    for (int epoch = 1; epoch <= 3; ++epoch) {
        data::Batch batch;
        double loss_sum = 0;
        int batches = 0;
        while (loader.next(batch)) {
            tape.rewind();
            Var<float> loss = cross_entropy(net(tape.constant(batch.images)), batch.labels);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            loss_sum += loss.item();
            ++batches;
        }
        std::printf("epoch %d: mean training loss %.4f\n", epoch, loss_sum / batches);
    }
    const train::Evaluation result = train::evaluate(net, test, 250, tape);
    std::printf("test loss %.4f, test accuracy %.1f%% on %lld images\n", result.loss, 100 * result.accuracy,
                static_cast<long long>(result.samples));
    return result.accuracy > 0.5 ? 0 : 1;
} catch (const strata::Error& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 2;
}
