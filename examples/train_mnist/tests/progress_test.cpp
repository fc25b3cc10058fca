// Tests of train/progress.hpp: durations, bars, the plain every-tenth rule, the end-of-epoch line, and what the
// reporter writes on a terminal (rate-limited redraws) and elsewhere (one line per tenth).

#include <catch2/catch.hpp>

#include <limits>
#include <sstream>

#include "progress.hpp"

using namespace strata;
using namespace strata::train;
using Catch::Contains;

namespace {
std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
    return n;
}
}  // namespace

TEST_CASE("format_duration", "[train][progress]") {
    CHECK(format_duration(0) == "0:00");
    CHECK(format_duration(5.4) == "0:05");
    CHECK(format_duration(59.6) == "1:00");
    CHECK(format_duration(754) == "12:34");
    CHECK(format_duration(3723) == "1:02:03");
    CHECK(format_duration(-1) == "--:--");
    CHECK(format_duration(std::numeric_limits<double>::infinity()) == "--:--");
    CHECK(format_duration(std::numeric_limits<double>::quiet_NaN()) == "--:--");
}

TEST_CASE("format_bar fills in proportion", "[train][progress]") {
    CHECK(format_bar(0, 10, 10) == "[..........]");
    CHECK(format_bar(5, 10, 10) == "[#####.....]");
    CHECK(format_bar(10, 10, 10) == "[##########]");
    CHECK(format_bar(1, 3, 6) == "[##....]");
    CHECK(format_bar(7, 0, 4) == "[....]");
    CHECK(format_bar(12, 10, 4) == "[####]");
}

TEST_CASE("progress lines show epoch, batches, loss, speed and ETA", "[train][progress]") {
    ProgressState s;
    s.epoch = 2;
    s.epochs = 3;
    s.done = 120;
    s.total = 469;
    s.loss = 0.53214;
    s.images_per_s = 1234.4;
    s.eta_seconds = 45;
    const std::string bar = format_progress_bar(s, 10);
    CHECK(bar == "epoch 2/3 [###.......] 120/469 loss 0.5321 | 1234 img/s | ETA 0:45");
    CHECK(format_progress_plain(s) == "epoch 2/3 batch 120/469 (25%) loss 0.5321 | 1234 img/s | ETA 0:45");
}

TEST_CASE("plain_report_due fires once per tenth", "[train][progress]") {
    CHECK_FALSE(plain_report_due(0, 1, 100));
    CHECK(plain_report_due(9, 10, 100));
    CHECK_FALSE(plain_report_due(10, 11, 100));
    CHECK(plain_report_due(99, 100, 100));
    CHECK(plain_report_due(0, 7, 7));  // small epochs: every batch that crosses a tenth
    CHECK_FALSE(plain_report_due(0, 0, 0));
    int lines = 0;
    for (index_t b = 1; b <= 469; ++b) lines += plain_report_due(b - 1, b, 469);
    CHECK(lines == 10);
}

TEST_CASE("format_epoch_summary", "[train][progress]") {
    EpochMetrics m;
    m.epoch = 1;
    m.loss = 0.51234;
    m.train_acc = 0.81234;
    m.test_loss = 0.40123;
    m.test_acc = 0.85678;
    m.images_per_s = 1234.4;
    m.seconds = 40.25;
    m.lr = 0.0123;
    CHECK(format_epoch_summary(m, 3) ==
          "epoch 1/3: train loss 0.5123 acc 81.23% | test loss 0.4012 acc 85.68% | 1234 img/s | 40.2 s | lr 0.0123");
}

TEST_CASE("ProgressReporter on a terminal redraws at most every min_interval", "[train][progress]") {
    std::ostringstream out;
    ProgressReporter r(&out, true, 0.5);
    r.begin_epoch(0);
    ProgressState s;
    s.total = 10;
    for (index_t b = 1; b <= 10; ++b) {
        s.done = b;
        r.update_at(s, 0.1 * static_cast<double>(b));  // 0.1 s apart: draws at 0.1, 0.6 and the last batch
    }
    const std::string text = out.str();
    CHECK(count(text, "\r") == 3);
    CHECK(text.find('\n') == std::string::npos);
    CHECK_THAT(text, Contains(" 10/10 "));
    r.clear();
    CHECK(out.str().substr(text.size()) == "\r\033[K");
}

TEST_CASE("ProgressReporter elsewhere prints a line per tenth, from a resumed position", "[train][progress]") {
    std::ostringstream out;
    ProgressReporter r(&out, false);
    r.begin_epoch(50);  // resumed in the middle
    ProgressState s;
    s.total = 100;
    for (index_t b = 51; b <= 100; ++b) {
        s.done = b;
        r.update_at(s, 0);
    }
    CHECK(count(out.str(), "\n") == 5);
    CHECK_THAT(out.str(), Contains("batch 60/100 (60%)") && Contains("batch 100/100 (100%)"));
    CHECK(out.str().find('\r') == std::string::npos);
    r.clear();  // nothing to clear on plain output
    CHECK(count(out.str(), "\n") == 5);

    ProgressReporter silent;  // no stream: nothing happens
    silent.update_at(s, 0);
    silent.clear();
}
