#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "strata/distributed/broadcast.hpp"
#include "strata/distributed/context.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/init.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/sequential.hpp"

using namespace strata;
using namespace strata::distributed;

namespace {

/// Sets (or, with nullopt, unsets) an environment variable for its lifetime and restores the old value.
class ScopedEnv {
public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) setenv(name, value->c_str(), 1);
        else unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_) setenv(name_, old_->c_str(), 1);
        else unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

/// Linear(4, 3) + BatchNorm over 3 features, initialised from `seed`, with running statistics set from it.
std::unique_ptr<nn::Sequential<float>> small_model(std::uint64_t seed) {
    manual_seed(seed);
    auto m = std::make_unique<nn::Sequential<float>>();
    m->emplace<nn::Linear<float>>(nn::LinearOptions(4, 3));
    auto& bn = m->emplace<nn::BatchNorm2d<float>>(nn::BatchNormOptions(3));
    bn.running_mean()->fill(static_cast<float>(seed));
    return m;
}

}  // namespace

TEST_CASE("launched_by_mpi reads the launchers' environment variables", "[distributed][context]") {
    ScopedEnv a("OMPI_COMM_WORLD_SIZE", std::nullopt), b("PMI_SIZE", std::nullopt), c("PMIX_RANK", std::nullopt);
    CHECK_FALSE(launched_by_mpi());
    {
        ScopedEnv pmi("PMI_SIZE", std::string("4"));
        CHECK(launched_by_mpi());
    }
    {
        ScopedEnv ompi("OMPI_COMM_WORLD_SIZE", std::string("2"));
        CHECK(launched_by_mpi());
    }
    ScopedEnv empty("PMIX_RANK", std::string(""));
    CHECK_FALSE(launched_by_mpi());
}

TEST_CASE("MpiContext, world rank and size agree with the communicator", "[distributed][context]") {
    const Communicator world = Communicator::world();
    CHECK(world.uses_mpi() == launched_by_mpi());  // the test main initialises MPI only under mpirun
    CHECK(world_rank() == world.rank());
    CHECK(world_size() == world.size());
    CHECK(is_root() == (world.rank() == 0));
    MpiContext nested(nullptr, nullptr, MpiInit::never);  // MPI already set up by main: just a view of it
    CHECK(nested.uses_mpi() == world.uses_mpi());
    CHECK(nested.size() == world.size());
    CHECK(nested.rank() == world.rank());
    const Communicator local = Communicator::local();
    CHECK_FALSE(local.uses_mpi());
    CHECK(local.size() == 1);
    CHECK(local.rank() == 0);
    CHECK(local.is_root());
}

TEST_CASE("collectives of the local communicator are the identity", "[distributed][context]") {
    const Communicator local = Communicator::local();
    std::vector<double> v = {1.5, -2.0, 3.0};
    local.allreduce_sum(v.data(), 3);
    local.allreduce_max(v.data(), 3);
    local.broadcast(v.data(), 3, 0);
    MPI_Request r = local.start_allreduce_sum(v.data(), 3);
    Communicator::wait(r);
    local.barrier();
    CHECK(v == std::vector<double>{1.5, -2.0, 3.0});
    CHECK_THROWS_WITH(local.broadcast(v.data(), 3, 1), Catch::Contains("broadcast: root 1 outside [0, 1)"));
}

TEST_CASE("run_or_abort returns the function's result", "[distributed][context]") {
    CHECK(run_or_abort([] { return 7; }) == 7);
    bool ran = false;
    CHECK(run_or_abort([&] { ran = true; }) == 0);
    CHECK(ran);
}

TEST_CASE("broadcast_parameters and parameters_max_difference with one rank", "[distributed][broadcast]") {
    auto m = small_model(1);
    const float w0 = m->parameters()[0]->value[0];
    broadcast_parameters(*m, Communicator::local());
    broadcast_parameters(*m);
    CHECK(m->parameters()[0]->value[0] == w0);
    CHECK(parameters_max_difference(*m) == 0.0);
    CHECK_THROWS_WITH(broadcast_parameters(*m, Communicator::local(), 1),
                      Catch::Contains("broadcast_parameters: root 1 outside [0, 1)"));
}

TEST_CASE("two ranks: broadcast_parameters copies rank 0's parameters and buffers", "[distributed][np2][broadcast]") {
    const Communicator world = Communicator::world();
    REQUIRE(world.size() == 2);
    auto mine = small_model(100 + static_cast<std::uint64_t>(world.rank()));
    auto root = small_model(100);  // what rank 0 holds
    CHECK(parameters_max_difference(*mine) > 0.0);
    broadcast_parameters(*mine, world);
    CHECK(parameters_max_difference(*mine) == 0.0);
    const auto a = mine->parameters(), b = root->parameters();
    for (std::size_t i = 0; i < a.size(); ++i)
        for (index_t k = 0; k < a[i]->numel(); ++k) CHECK(a[i]->value[k] == b[i]->value[k]);
    CHECK((*mine->named_buffers()[0].buffer)[0] == 100.f);  // running_mean of rank 0
    // Broadcast from rank 1 instead: rank 0 now holds rank 1's original running_mean.
    mine->named_buffers()[0].buffer->fill(static_cast<float>(world.rank() + 5));
    broadcast_parameters(*mine, world, 1);
    CHECK((*mine->named_buffers()[0].buffer)[1] == 6.f);
}

TEST_CASE("two ranks: models of different structure are refused on every rank", "[distributed][np2][broadcast]") {
    const Communicator world = Communicator::world();
    REQUIRE(world.size() == 2);
    manual_seed(1);
    nn::Linear<float> m(nn::LinearOptions(4, world.rank() == 0 ? 3 : 2));
    CHECK_THROWS_WITH(broadcast_parameters(m, world), Catch::Contains("the ranks hold different models"));
    CHECK_THROWS_WITH(parameters_max_difference(m, world), Catch::Contains("the ranks hold different models"));
}
