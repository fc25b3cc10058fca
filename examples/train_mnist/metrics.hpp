#pragma once
/// @file
/// Per-epoch training metrics as JSON lines: EpochMetrics, to_json_line() (one object per line, numbers written
/// exactly so that two runs can be compared bit for bit, timing fields last), and MetricsWriter, which appends
/// lines to a file and flushes after each, and on resume keeps only the lines of the epochs the checkpoint has
/// completed (a line written after the checkpoint's last save is dropped, so the file never repeats an epoch).

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/shape.hpp"
#include "strata/io/atomic_file.hpp"
#include "config.hpp"

namespace strata::train {

/// What one epoch of training measured.
struct EpochMetrics {
    index_t epoch = 0;          ///< 1-based epoch number
    index_t step = 0;           ///< optimizer steps taken so far (all epochs)
    double loss = 0;            ///< mean training loss over the epoch's samples (incl. auxiliary terms)
    double train_acc = 0;       ///< fraction of the epoch's training samples classified correctly (train mode)
    double test_loss = 0;       ///< mean test loss (eval mode)
    double test_acc = 0;        ///< test accuracy in [0, 1]
    double lr = 0;              ///< learning rate of the first parameter group at the end of the epoch
    double images_per_s = 0;    ///< training images per second (training steps only, this process)
    double seconds = 0;         ///< wall time of the epoch in this process, evaluation included
};

namespace detail {

/// `v` as a JSON number: the shortest text that reads back exactly ("null" for NaN and infinities, which JSON
/// cannot represent).
inline std::string json_number(double v) { return std::isfinite(v) ? exact_double(v) : "null"; }

}  // namespace detail

/// One JSON object on one line (no newline), keys in this order: epoch, step, loss, train_acc, test_loss,
/// test_acc, lr, images_per_s, seconds. The metrics are exact; images_per_s has one decimal and seconds three.
inline std::string to_json_line(const EpochMetrics& m) {
    auto fixed = [](double v, int decimals) {
        if (!std::isfinite(v)) return std::string("null");
        char buf[48];
        std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
        return std::string(buf);
    };
    std::ostringstream out;
    out << "{\"epoch\":" << m.epoch << ",\"step\":" << m.step << ",\"loss\":" << detail::json_number(m.loss)
        << ",\"train_acc\":" << detail::json_number(m.train_acc) << ",\"test_loss\":" << detail::json_number(m.test_loss)
        << ",\"test_acc\":" << detail::json_number(m.test_acc) << ",\"lr\":" << detail::json_number(m.lr)
        << ",\"images_per_s\":" << fixed(m.images_per_s, 1) << ",\"seconds\":" << fixed(m.seconds, 3) << "}";
    return out.str();
}

/// The "epoch" value of a line written by to_json_line, or -1 when the line has none.
inline index_t epoch_of_json_line(const std::string& line) {
    const std::string key = "\"epoch\":";
    const auto at = line.find(key);
    if (at == std::string::npos) return -1;
    const char* start = line.c_str() + at + key.size();
    char* end = nullptr;
    const long long v = std::strtoll(start, &end, 10);
    return end == start ? -1 : static_cast<index_t>(v);
}

/// Writes EpochMetrics as JSON lines to a file, flushing after each line.
class MetricsWriter {
public:
    /// Not writing anywhere (write() does nothing).
    MetricsWriter() = default;

    /// Opens `path` for a new run: the file is truncated. Throws IoError naming the path when it cannot be opened.
    explicit MetricsWriter(const std::string& path) { open(path, std::ios::trunc); }

    /// Opens `path` for a run resumed after `completed_epochs` epochs: an existing file keeps only its lines
    /// whose epoch is at most `completed_epochs` (rewritten atomically), and new lines are appended. A missing
    /// file is created. Throws IoError naming the path on a read or write failure.
    MetricsWriter(const std::string& path, index_t completed_epochs) {
        std::ifstream in(path);
        if (in) {
            std::string kept, line;
            while (std::getline(in, line)) {
                const index_t e = epoch_of_json_line(line);
                if (e >= 1 && e <= completed_epochs) kept += line + "\n";
            }
            in.close();
            io::atomic_write_file(path, kept.data(), kept.size());
        }
        open(path, std::ios::app);
    }

    /// Whether lines go to a file.
    bool is_open() const { return out_.is_open(); }
    /// The file's path (empty when not open).
    const std::string& path() const { return path_; }

    /// Appends to_json_line(m) and a newline and flushes; throws IoError naming the path when the write fails.
    void write(const EpochMetrics& m) {
        if (!out_.is_open()) return;
        out_ << to_json_line(m) << '\n';
        out_.flush();
        check<IoError>(static_cast<bool>(out_), "cannot write metrics to ", path_);
    }

private:
    void open(const std::string& path, std::ios::openmode mode) {
        out_.open(path, std::ios::out | mode);
        check<IoError>(out_.is_open(), "cannot open the metrics file ", path, " for writing");
        path_ = path;
    }

    std::ofstream out_;
    std::string path_;
};

}  // namespace strata::train
