// Where a training step of model_bench's workload spends its time, op by op (strata::Profiler): forward and
// backward of every op, per step, and the optimizer between steps. Compare 1 and 2 threads to see which ops
// scale. Not a speed benchmark (the profiler's clock reads add a little per op); model_bench is.
//
//   model_profile [--net resnet18|plain18|resnet20|plain20] [--threads T] [--batch B] [--steps S] [--by-shape]
//                 [--rows N]

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "model_workload.hpp"
#include "strata/autograd/profiler.hpp"

using namespace strata;
using namespace strata::bench;

namespace {

[[noreturn]] void usage_error(const std::string& message) {
    std::fprintf(stderr,
                 "model_profile: %s\nusage: model_profile [--net resnet18|plain18|resnet20|plain20] [--threads T] "
                 "[--batch B] [--steps S] [--by-shape] [--rows N]\n",
                 message.c_str());
    std::exit(2);
}

long positive(const char* flag, const char* text) {
    char* end = nullptr;
    const long v = std::strtol(text, &end, 10);
    if (*end != '\0' || v <= 0) usage_error(std::string(flag) + " wants a positive integer, got '" + text + "'");
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    std::string net_name = "resnet18";
    long threads = 1, batch = 64, steps = 20, rows = 30;
    bool by_shape = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--by-shape") by_shape = true;
        else if (arg == "--net" && has_value) net_name = argv[++i];
        else if (arg == "--threads" && has_value) threads = positive("--threads", argv[++i]);
        else if (arg == "--batch" && has_value) batch = positive("--batch", argv[++i]);
        else if (arg == "--steps" && has_value) steps = positive("--steps", argv[++i]);
        else if (arg == "--rows" && has_value) rows = positive("--rows", argv[++i]);
        else usage_error("unknown or incomplete option '" + arg + "'");
    }
    Net net;
    if (net_name == "resnet18") net = Net::resnet18;
    else if (net_name == "plain18") net = Net::plain18;
    else if (net_name == "resnet20") net = Net::resnet20;
    else if (net_name == "plain20") net = Net::plain20;
    else usage_error("unknown --net '" + net_name + "'");

    set_threads(static_cast<int>(threads));
    TrainStep step(net, batch);
    Tape& tape = step.tape;
    Profiler profiler(tape, by_shape);
    for (int i = 0; i < 3; ++i) step();  // warm-up: arena growth, optimizer state
    tape.rewind();
    profiler.reset();
    for (long i = 0; i < steps; ++i) step();
    tape.rewind();  // closes the last step
    std::printf("model_profile: %s, batch %ld, %ld threads, %ld steps; milliseconds per step\n", net_name.c_str(),
                batch, threads, steps);
    std::cout << profiler.table(static_cast<std::size_t>(rows));
    return 0;
}
