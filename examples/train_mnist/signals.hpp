#pragma once
/// @file
/// Graceful interruption of a training loop: StopSignals installs handlers for SIGINT (Ctrl-C) and SIGTERM that
/// only record the signal; the loop polls stop_requested() between steps, saves its checkpoint and exits. The
/// handlers reset themselves after the first signal (SA_RESETHAND), so a second Ctrl-C ends the process at once.

#include <csignal>

#if defined(__unix__) || defined(__APPLE__)
#define STRATA_TRAIN_POSIX_SIGNALS 1
#include <signal.h>
#endif

namespace strata::train {

namespace detail {
/// The signal that asked the loop to stop, or 0. Written only by the handler and by request_stop().
inline volatile std::sig_atomic_t stop_signal_value = 0;

extern "C" inline void record_stop_signal(int sig) { stop_signal_value = sig; }
}  // namespace detail

/// Whether a stop was requested (by SIGINT, SIGTERM or request_stop) since the last clear_stop_request().
inline bool stop_requested() { return detail::stop_signal_value != 0; }
/// The signal number of the stop request, or 0 when none.
inline int stop_signal() { return static_cast<int>(detail::stop_signal_value); }
/// Asks the loop to stop as if signal `sig` (non-zero) had arrived.
inline void request_stop(int sig = SIGINT) { detail::stop_signal_value = sig; }
/// Forgets a stop request.
inline void clear_stop_request() { detail::stop_signal_value = 0; }

/// The name of a stop signal for messages ("SIGINT", "SIGTERM", else "signal N").
inline const char* signal_name(int sig) {
    if (sig == SIGINT) return "SIGINT";
    if (sig == SIGTERM) return "SIGTERM";
    return "a signal";
}

/// While alive, SIGINT and SIGTERM set the stop request instead of ending the process (once: the handler then
/// reverts to the default, so a second signal ends the process). The previous handlers are restored on
/// destruction. Not copyable; create one, in the thread that runs the loop, before the loop starts.
class StopSignals {
public:
    StopSignals() {
#ifdef STRATA_TRAIN_POSIX_SIGNALS
        struct sigaction action {};
        action.sa_handler = detail::record_stop_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESETHAND | SA_RESTART;
        sigaction(SIGINT, &action, &old_int_);
        sigaction(SIGTERM, &action, &old_term_);
#else
        old_int_ = std::signal(SIGINT, detail::record_stop_signal);
        old_term_ = std::signal(SIGTERM, detail::record_stop_signal);
#endif
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;
    ~StopSignals() {
#ifdef STRATA_TRAIN_POSIX_SIGNALS
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
#else
        std::signal(SIGINT, old_int_);
        std::signal(SIGTERM, old_term_);
#endif
    }

private:
#ifdef STRATA_TRAIN_POSIX_SIGNALS
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
#else
    void (*old_int_)(int) = nullptr;
    void (*old_term_)(int) = nullptr;
#endif
};

}  // namespace strata::train
