#pragma once
/// @file
/// Progress display of a training loop. On a terminal, ProgressReporter redraws one line in place (epoch, a bar,
/// batch/total, running mean loss, images/s, ETA) at most every `min_interval` seconds; elsewhere (a log file, a
/// pipe) it prints one plain line each time another tenth of the epoch is done. format_epoch_summary() is the
/// end-of-epoch line. The formatting functions are pure, for tests.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>

#include "strata/core/shape.hpp"
#include "metrics.hpp"

namespace strata::train {

/// Where an epoch is, for one progress line.
struct ProgressState {
    index_t epoch = 1;         ///< 1-based
    index_t epochs = 1;
    index_t done = 0;          ///< batches of this epoch done
    index_t total = 0;         ///< batches per epoch
    double loss = 0;           ///< running mean loss of the epoch
    double images_per_s = 0;
    double eta_seconds = -1;   ///< time left in the epoch (negative or non-finite: unknown)
};

/// `seconds` as "M:SS", or "H:MM:SS" from an hour on; "--:--" when negative or not finite.
inline std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "--:--";
    const auto total = static_cast<long long>(seconds + 0.5);
    const long long h = total / 3600, m = total / 60 % 60, s = total % 60;
    char buf[40];
    if (h > 0)
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", h, m, s);
    else
        std::snprintf(buf, sizeof buf, "%lld:%02lld", m, s);
    return buf;
}

/// A bar of `width` cells, the first round(width * done / total) filled with '#', the rest with '.'.
inline std::string format_bar(index_t done, index_t total, int width) {
    const double frac = total > 0 ? std::min(1.0, std::max(0.0, static_cast<double>(done) / static_cast<double>(total))) : 0.0;
    const int filled = static_cast<int>(std::lround(frac * width));
    return "[" + std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(width - filled), '.') + "]";
}

/// The terminal line: "epoch 1/3 [####......] 120/469 loss 0.5321 | 1234 img/s | ETA 0:45".
inline std::string format_progress_bar(const ProgressState& s, int bar_width = 24) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "epoch %lld/%lld %s %lld/%lld loss %.4f | %.0f img/s | ETA %s",
                  static_cast<long long>(s.epoch), static_cast<long long>(s.epochs),
                  format_bar(s.done, s.total, bar_width).c_str(), static_cast<long long>(s.done),
                  static_cast<long long>(s.total), s.loss, s.images_per_s, format_duration(s.eta_seconds).c_str());
    return buf;
}

/// The plain line: "epoch 1/3 batch 47/469 (10%) loss 0.5321 | 1234 img/s | ETA 4:05".
inline std::string format_progress_plain(const ProgressState& s) {
    const long long percent = s.total > 0 ? static_cast<long long>(100 * s.done / s.total) : 0;
    char buf[160];
    std::snprintf(buf, sizeof buf, "epoch %lld/%lld batch %lld/%lld (%lld%%) loss %.4f | %.0f img/s | ETA %s",
                  static_cast<long long>(s.epoch), static_cast<long long>(s.epochs), static_cast<long long>(s.done),
                  static_cast<long long>(s.total), percent, s.loss, s.images_per_s,
                  format_duration(s.eta_seconds).c_str());
    return buf;
}

/// Whether going from `before` to `after` batches done (of `total`) crosses a tenth of the epoch, i.e.
/// floor(10 * after / total) > floor(10 * before / total). The plain display prints a line when it does.
inline bool plain_report_due(index_t before, index_t after, index_t total) {
    if (total <= 0) return false;
    return 10 * after / total > 10 * before / total;
}

/// The end-of-epoch line: "epoch 1/3: train loss 0.5123 acc 81.23% | test loss 0.4012 acc 85.67% | 1234 img/s
/// | 40.2 s | lr 0.0123".
inline std::string format_epoch_summary(const EpochMetrics& m, index_t epochs) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "epoch %lld/%lld: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | %.0f img/s | %.1f s | "
                  "lr %.4g",
                  static_cast<long long>(m.epoch), static_cast<long long>(epochs), m.loss, 100 * m.train_acc,
                  m.test_loss, 100 * m.test_acc, m.images_per_s, m.seconds, m.lr);
    return buf;
}

/// Prints progress lines to a stream, as a redrawn bar on a terminal or as plain lines every tenth of an epoch.
class ProgressReporter {
public:
    /// Silent (every call does nothing).
    ProgressReporter() = default;
    /// Reports to `out` (not owned; null: silent); `terminal` selects the redrawn bar, which is redrawn at most
    /// every `min_interval` seconds (and always at the last batch).
    ProgressReporter(std::ostream* out, bool terminal, double min_interval = 0.1)
        : out_(out), terminal_(terminal), min_interval_(min_interval) {}

    /// Starts an epoch at `done` batches already done (non-zero after a resume).
    void begin_epoch(index_t done) {
        last_done_ = done;
        last_draw_ = -1e300;
    }
    /// Reports `s` now.
    void update(const ProgressState& s) { update_at(s, now()); }
    /// Reports `s` at time `seconds` (any monotonic clock): redraws the bar if min_interval has passed since the
    /// last draw or the epoch is done; prints a plain line if plain_report_due.
    void update_at(const ProgressState& s, double seconds) {
        if (!out_) return;
        if (terminal_) {
            if (seconds - last_draw_ < min_interval_ && s.done < s.total) return;
            *out_ << '\r' << format_progress_bar(s) << "\033[K" << std::flush;
            last_draw_ = seconds;
            drawn_ = true;
        } else if (plain_report_due(last_done_, s.done, s.total)) {
            *out_ << format_progress_plain(s) << '\n' << std::flush;
        }
        last_done_ = s.done;
    }
    /// Removes the bar from the terminal line (before other output); does nothing for plain output.
    void clear() {
        if (out_ && terminal_ && drawn_) *out_ << "\r\033[K" << std::flush;
        drawn_ = false;
    }

private:
    static double now() {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }

    std::ostream* out_ = nullptr;
    bool terminal_ = false;
    double min_interval_ = 0.1;
    index_t last_done_ = 0;
    double last_draw_ = -1e300;
    bool drawn_ = false;
};

}  // namespace strata::train
