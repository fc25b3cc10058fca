#pragma once
/// @file
/// Profiler: where a training step's time goes, op by op (like torch.autograd.profiler, for the tape).
///
///     Tape tape;
///     Profiler prof(tape);                       // attaches to the tape until destroyed
///     for (...) { tape.rewind(); ...forward...; loss.backward(); opt.step(); }
///     std::cout << prof.table();                  // ops by total time, forward and backward apart
///
/// Forward time of an op is the wall time from the previous event on the tape (the previous op's recording,
/// the rewind, or the profiler's start) to the op's recording, so it includes the caller's code between two
/// ops (a module's bookkeeping); backward time is the op's backward alone. The time from the end of a step's
/// last event to the next rewind (the optimizer step, and whatever else the caller does there) is reported as
/// "between steps"; work between the last forward op and backward (e.g. zero_grad) falls in no row.
/// Ops under NoGradGuard record nothing and are not seen; anomaly mode (Tape::set_detect_anomaly) runs its
/// own backward loop, which is not timed.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "strata/autograd/tape.hpp"

namespace strata {

/// The time spent in one op (or, with Profiler's by_shape, one op at one output shape).
struct OpStats {
    std::string op;           ///< the op's name as recorded ("conv2d", "batch_norm", ...)
    Shape shape;              ///< output shape (by_shape profilers), else empty
    index_t calls = 0;        ///< times the op was recorded
    index_t backward_calls = 0;  ///< times its backward ran (0 when nothing needed its gradient)
    double forward_seconds = 0;
    double backward_seconds = 0;
    double total_seconds() const { return forward_seconds + backward_seconds; }
};

/// Times every op recorded on a tape, forward and backward apart; see the file comment for what is counted.
/// Attaches to the tape on construction and detaches on destruction (restoring the sink it replaced).
class Profiler final : private detail::ProfileSink {
public:
    /// Profiles `tape`; with `by_shape`, an op is counted separately for every output shape it produces
    /// (conv2d at [64, 64, 28, 28] apart from conv2d at [64, 128, 14, 14]).
    explicit Profiler(Tape& tape, bool by_shape = false)
        : tape_(tape), previous_(tape.profile_sink()), by_shape_(by_shape), last_event_(clock::now()) {
        tape_.set_profile_sink(this);
    }
    Profiler(const Profiler&) = delete;
    Profiler& operator=(const Profiler&) = delete;
    ~Profiler() { tape_.set_profile_sink(previous_); }

    /// Every op seen, by total (forward + backward) time, largest first.
    std::vector<OpStats> stats() const {
        std::vector<OpStats> out = entries_;
        std::stable_sort(out.begin(), out.end(),
                         [](const OpStats& a, const OpStats& b) { return a.total_seconds() > b.total_seconds(); });
        return out;
    }
    /// Steps completed: rewinds seen after the first event.
    index_t steps() const { return steps_; }
    /// Time from each step's last op event to the next rewind (the optimizer step), summed.
    double between_steps_seconds() const { return between_seconds_; }
    /// Time of the completed steps, rewind to rewind, summed.
    double step_seconds() const { return step_seconds_; }
    /// Forgets everything measured so far (e.g. after warm-up steps).
    void reset() {
        entries_.clear();
        entry_of_node_.clear();
        steps_ = 0;
        between_seconds_ = step_seconds_ = 0;
        step_started_ = false;
        step_start_ = last_event_ = clock::now();
    }

    /// The `rows` most expensive ops as a text table, times in milliseconds per step (per completed step, or
    /// in total when no step has completed yet), with the step's total and the time between steps.
    std::string table(std::size_t rows = 25) const {
        const double per = steps_ > 0 ? 1e3 / static_cast<double>(steps_) : 1e3;
        std::string out;
        char line[256];
        std::snprintf(line, sizeof line, "%-44s %7s %10s %10s %10s %6s\n", "op", "calls", "forward", "backward",
                      "total", "%");
        out += line;
        const double step_total = step_seconds_ > 0 ? step_seconds_ : 1;
        const std::vector<OpStats> sorted = stats();
        for (std::size_t i = 0; i < sorted.size() && i < rows; ++i) {
            const OpStats& s = sorted[i];
            std::string name = s.op;
            if (s.shape.rank() > 0) name += " " + s.shape.to_string();
            const double calls = steps_ > 0 ? static_cast<double>(s.calls) / static_cast<double>(steps_)
                                            : static_cast<double>(s.calls);
            std::snprintf(line, sizeof line, "%-44.44s %7.4g %10.3f %10.3f %10.3f %6.1f\n", name.c_str(), calls,
                          s.forward_seconds * per, s.backward_seconds * per, s.total_seconds() * per,
                          100 * s.total_seconds() / step_total);
            out += line;
        }
        if (sorted.size() > rows) {
            std::snprintf(line, sizeof line, "(%zu more ops)\n", sorted.size() - rows);
            out += line;
        }
        std::snprintf(line, sizeof line, "%-44s %7s %10s %10s %10.3f %6.1f\n", "between steps (optimizer)", "",
                      "", "", between_seconds_ * per, 100 * between_seconds_ / step_total);
        out += line;
        std::snprintf(line, sizeof line, "%-44s %7lld %10s %10s %10.3f\n", "step (rewind to rewind), steps:",
                      static_cast<long long>(steps_), "", "", step_seconds_ * per);
        out += line;
        return out;
    }

private:
    using clock = std::chrono::steady_clock;

    static double seconds(clock::duration d) { return std::chrono::duration<double>(d).count(); }

    void recorded(std::size_t index, const detail::Node& node) override {
        const clock::time_point now = clock::now();
        OpStats& e = entry(index, node);
        ++e.calls;
        e.forward_seconds += seconds(now - last_event_);
        last_event_ = now;
        step_started_ = true;
    }
    void backward_ran(std::size_t index, const detail::Node& node, double secs) override {
        OpStats& e = entry(index, node);
        ++e.backward_calls;
        e.backward_seconds += secs;
        last_event_ = clock::now();
    }
    void rewound() override {
        const clock::time_point now = clock::now();
        if (step_started_) {
            between_seconds_ += seconds(now - last_event_);
            step_seconds_ += seconds(now - step_start_);
            ++steps_;
        }
        step_start_ = last_event_ = now;
        step_started_ = true;
    }

    bool matches(const OpStats& e, const detail::Node& node) const {
        return e.op == node.name && (!by_shape_ || e.shape == node.output->shape);
    }
    /// The entry of node `index`: the same as last step's node at that index when it matches (a training loop
    /// records the same ops every step), else found or added by name (and shape).
    OpStats& entry(std::size_t index, const detail::Node& node) {
        if (index < entry_of_node_.size() && matches(entries_[entry_of_node_[index]], node))
            return entries_[entry_of_node_[index]];
        std::size_t found = entries_.size();
        for (std::size_t i = 0; i < entries_.size(); ++i)
            if (matches(entries_[i], node)) found = i;
        if (found == entries_.size()) {
            OpStats e;
            e.op = node.name;
            if (by_shape_) e.shape = node.output->shape;
            entries_.push_back(std::move(e));
        }
        if (entry_of_node_.size() <= index) entry_of_node_.resize(index + 1, found);
        entry_of_node_[index] = found;
        return entries_[found];
    }

    Tape& tape_;
    detail::ProfileSink* previous_;
    bool by_shape_;
    std::vector<OpStats> entries_;
    std::vector<std::size_t> entry_of_node_;
    clock::time_point last_event_;
    clock::time_point step_start_ = clock::now();
    bool step_started_ = false;
    index_t steps_ = 0;
    double between_seconds_ = 0;
    double step_seconds_ = 0;
};

}  // namespace strata
