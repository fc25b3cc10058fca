// Tests of train/signals.hpp: a SIGINT or SIGTERM while StopSignals is alive only sets the stop request, and the
// previous handlers come back when it is destroyed.

#include <catch2/catch.hpp>

#include <csignal>

#include "signals.hpp"

using namespace strata::train;

namespace {
volatile std::sig_atomic_t previous_handler_calls = 0;
extern "C" void counting_handler(int) { previous_handler_calls = previous_handler_calls + 1; }
}  // namespace

TEST_CASE("StopSignals turns SIGINT and SIGTERM into a stop request", "[train][signals]") {
    clear_stop_request();
    CHECK_FALSE(stop_requested());
    {
        StopSignals guard;
        std::raise(SIGINT);
        CHECK(stop_requested());
        CHECK(stop_signal() == SIGINT);
        CHECK(std::string(signal_name(stop_signal())) == "SIGINT");
        clear_stop_request();
        std::raise(SIGTERM);
        CHECK(stop_signal() == SIGTERM);
        clear_stop_request();
    }
    CHECK_FALSE(stop_requested());
    request_stop(SIGTERM);
    CHECK(stop_requested());
    clear_stop_request();
}

TEST_CASE("StopSignals restores the previous handlers", "[train][signals]") {
    clear_stop_request();
    auto* old = std::signal(SIGTERM, counting_handler);
    previous_handler_calls = 0;
    {
        StopSignals guard;
        std::raise(SIGTERM);
        CHECK(previous_handler_calls == 0);
        CHECK(stop_requested());
    }
    clear_stop_request();
    std::raise(SIGTERM);
    CHECK(previous_handler_calls == 1);
    CHECK_FALSE(stop_requested());
    std::signal(SIGTERM, old);
}
