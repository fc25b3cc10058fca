// Data-parallel scaling of ResNet-18 training (the peer workload: 1x28x28 inputs, 10 classes, global batch 64,
// SGD with momentum) under strata::distributed. Compare, on the same machine:
//   OMP_NUM_THREADS=2 ./distributed_scaling                                   (1 rank x 2 threads, batch 64)
//   OMP_NUM_THREADS=1 mpirun -np 2 --bind-to core ./distributed_scaling       (2 ranks x 1 thread, batch 32 each)
// Rank 0 prints images/s over the timed steps, the mean step time, and the gradient-averaging time per step
// (the slowest rank's; it includes waiting for the other rank to finish its backward). Synthetic data: the
// loader is not what is measured.
//
// Options: --steps N (timed steps, default 20)  --warmup N (untimed first steps, default 3)
//          --batch N (global batch, default 64)  --bucket-mb X (gradient bucket size, default 25)
//          --overlap 0|1 (start each bucket's allreduce during backward, GradientAverager::overlap_backward)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "strata/distributed/distributed.hpp"
#include "strata/models/resnet.hpp"
#include "strata/ops/cross_entropy.hpp"
#include "strata/optim/sgd.hpp"

using namespace strata;
using namespace strata::distributed;

namespace {

struct Config {
    long steps = 20;
    long warmup = 3;
    index_t batch = 64;
    double bucket_mb = 25;
    bool overlap = false;
};

Config parse(int argc, char** argv) {
    Config c;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        check<ArgumentError>(i + 1 < argc, "distributed_scaling: option ", a, " needs a value");
        const char* v = argv[++i];
        if (a == "--steps") c.steps = std::atol(v);
        else if (a == "--warmup") c.warmup = std::atol(v);
        else if (a == "--batch") c.batch = std::atol(v);
        else if (a == "--bucket-mb") c.bucket_mb = std::atof(v);
        else if (a == "--overlap") c.overlap = std::atol(v) != 0;
        else throw ArgumentError("distributed_scaling: unknown option " + a);
    }
    check<ArgumentError>(c.steps > 0 && c.warmup >= 0 && c.batch > 0 && c.bucket_mb > 0,
                         "distributed_scaling: --steps, --batch and --bucket-mb must be positive, --warmup >= 0");
    return c;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int run(const MpiContext& mpi, const Config& cfg) {
    const Communicator world = mpi.world();
    check<ArgumentError>(cfg.batch % world.size() == 0, "distributed_scaling: global batch ", cfg.batch,
                         " is not divisible by ", world.size(), " ranks");
    const index_t local_batch = cfg.batch / world.size();
    auto model = models::resnet18<float>(models::ResNetOptions().in_channels(1).num_classes(10));
    model->train();
    broadcast_parameters(*model, world);
    optim::SGD<float> sgd(model->parameters(), optim::SGDOptions(0.01).momentum(0.9));
    Tape tape;  // before the averager, which detaches from it when destroyed
    GradientAverager<float> averager(model->parameters(), world,
                                     static_cast<std::size_t>(cfg.bucket_mb * 1024 * 1024));
    if (cfg.overlap) averager.overlap_backward(&tape);

    Generator gen(1000 + static_cast<std::uint64_t>(world.rank()));
    Tensor<float> images(Shape{local_batch, 1, 28, 28});
    images.fill_normal(gen);
    std::vector<index_t> labels(static_cast<std::size_t>(local_batch));
    for (auto& l : labels) l = static_cast<index_t>(gen.below(10));

    double comm = 0;
    std::chrono::steady_clock::time_point start;
    for (long step = 0; step < cfg.warmup + cfg.steps; ++step) {
        if (step == cfg.warmup) {
            world.barrier();
            start = std::chrono::steady_clock::now();
            averager.reset_timing();
        }
        tape.rewind();
        Var<float> loss = cross_entropy((*model)(tape.constant(images)), labels);
        sgd.zero_grad();
        loss.backward();
        averager.average();
        sgd.step();
    }
    world.barrier();
    double wall = seconds_since(start);
    comm = averager.seconds();
    world.allreduce_max(&wall, 1);
    world.allreduce_max(&comm, 1);
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    root_printf("distributed_scaling: ResNet-18 (%lld parameters in %zu tensors), 1x28x28, global batch %lld = %d "
                "rank(s) x %lld, %d thread(s) per rank, %zu bucket(s) of <= %.0f MB, averaging %s backward\n",
                static_cast<long long>(model->parameter_count()), model->parameters().size(),
                static_cast<long long>(cfg.batch), world.size(), static_cast<long long>(local_batch), threads,
                averager.bucket_count(), cfg.bucket_mb, cfg.overlap ? "overlapped with" : "after");
    root_printf("  %ld timed steps in %.2f s: %.1f images/s, %.1f ms per step, gradient averaging %.1f ms per "
                "step (%.0f%%)\n",
                cfg.steps, wall, static_cast<double>(cfg.batch * cfg.steps) / wall, 1e3 * wall / cfg.steps,
                1e3 * comm / cfg.steps, 100 * comm / wall);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    MpiContext mpi(&argc, &argv);
    return run_or_abort([&] { return run(mpi, parse(argc, argv)); });
}
