#pragma once
/// @file
/// Self-contained SVG line plots for experiment reports: a Figure is a row of Panels, each with a title, axis
/// labels, a linear or logarithmic y axis with tick labels and grid, any number of Series (line and/or markers,
/// colour, dash) and a legend. The SVG uses no scripts, no external fonts or stylesheets (a generic sans-serif
/// family), so a browser or image viewer shows it as is. Non-finite points (and y <= 0 on a log axis) break a
/// line instead of distorting the axes; a point left alone between two breaks is drawn as a dot.
///
/// Structure, for programs and tests that read the output back: every panel is a `<g class="panel">`, every
/// series a `<g class="series" data-label="...">` holding one `<polyline>` per unbroken run of two or more points
/// and one `<circle>` per point when markers are on (else one per lone point); y tick labels are
/// `<text class="y-tick">`.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "strata/core/error.hpp"

namespace strata::experiment {

/// One curve.
struct Series {
    std::string label;      ///< legend text
    std::vector<double> x;  ///< abscissae (same length as y)
    std::vector<double> y;  ///< ordinates
    std::string color = "#1f77b4";
    std::string dash;       ///< SVG stroke-dasharray ("6,3"), empty for a solid line
    double width = 1.8;     ///< line width in px
    bool line = true;       ///< draw the connecting line
    bool markers = false;   ///< draw a circle at each point
};

/// One plot: axes, series and legend.
struct Panel {
    std::string title;
    std::string x_label;
    std::string y_label;
    bool log_y = false;  ///< logarithmic y axis (base 10)
    std::vector<Series> series;
    /// Fixed y range (both finite, and positive on a log axis); otherwise the data's range.
    double y_min = std::numeric_limits<double>::quiet_NaN();
    double y_max = std::numeric_limits<double>::quiet_NaN();
};

/// A row of panels under an optional title and above an optional note.
struct Figure {
    std::string title;
    std::string note;            ///< one line of small text under the panels
    std::vector<Panel> panels;
    double plot_width = 420;     ///< width of each panel's plotting area in px
    double plot_height = 300;    ///< height of each panel's plotting area in px
};

/// Trailing moving average over the last `window` finite values (fewer at the start); non-finite entries stay
/// non-finite and are left out of their neighbours' averages. window <= 1 returns `v`.
inline std::vector<double> moving_average(const std::vector<double>& v, std::size_t window) {
    if (window <= 1) return v;
    std::vector<double> out(v.size());
    double sum = 0;
    std::size_t count = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (std::isfinite(v[i])) sum += v[i], ++count;
        if (i >= window && std::isfinite(v[i - window])) sum -= v[i - window], --count;
        out[i] = std::isfinite(v[i]) && count > 0 ? sum / static_cast<double>(count) : v[i];
    }
    return out;
}

/// "Nice" ticks (1, 2 or 5 times a power of ten apart) covering [lo, hi], about `target` of them; the first
/// and last tick enclose the range. Throws ArgumentError unless lo <= hi are finite and target >= 2.
/// @throws ArgumentError unless lo <= hi are finite and target >= 2, naming them.
inline std::vector<double> linear_ticks(double lo, double hi, int target = 5) {
    check<ArgumentError>(std::isfinite(lo) && std::isfinite(hi) && lo <= hi && target >= 2,
                         "linear_ticks: need finite lo <= hi and target >= 2, got ", lo, ", ", hi, ", ", target);
    if (hi - lo < 1e-12 * std::max(1.0, std::abs(lo))) {
        const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
        lo -= pad, hi += pad;
    }
    const double raw = (hi - lo) / (target - 1);
    const double p = std::pow(10.0, std::floor(std::log10(raw)));
    const double m = raw / p;
    const double step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
    const double first = std::floor(lo / step + 1e-9) * step, last = std::ceil(hi / step - 1e-9) * step;
    std::vector<double> ticks;
    for (int k = 0; first + k * step <= last + step * 1e-6; ++k) {
        const double t = first + k * step;
        ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    }
    return ticks;
}

/// Ticks of a log axis covering [lo, hi]: the enclosing powers of ten (every second or more when there are
/// many decades); within a single decade also 2x and 5x. Throws ArgumentError unless 0 < lo <= hi are finite.
/// @throws ArgumentError unless 0 < lo <= hi are finite, naming them.
inline std::vector<double> log_ticks(double lo, double hi) {
    check<ArgumentError>(std::isfinite(lo) && std::isfinite(hi) && lo > 0 && lo <= hi,
                         "log_ticks: need finite 0 < lo <= hi, got ", lo, ", ", hi);
    const int e0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
    int e1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
    if (e1 <= e0) e1 = e0 + 1;
    const int every = (e1 - e0 + 7) / 8;  // at most about 8 labelled decades
    std::vector<double> ticks;
    for (int e = e0; e <= e1; ++e) {
        if ((e - e0) % every == 0 || e == e1) ticks.push_back(std::pow(10.0, e));
        if (e1 - e0 == 1 && e < e1)
            for (double m : {2.0, 5.0}) ticks.push_back(m * std::pow(10.0, e));
    }
    std::sort(ticks.begin(), ticks.end());
    return ticks;
}

/// A short tick label: "0", "0.25", "1500", "1e-5", "2e+6" (6 significant digits at most).
inline std::string format_tick(double v) {
    if (v == 0) return "0";
    char buf[32];
    const double a = std::abs(v);
    if (a >= 1e-3 && a < 1e5) {
        std::snprintf(buf, sizeof buf, "%.6g", v);
        return buf;
    }
    std::snprintf(buf, sizeof buf, "%.3g", v);
    std::string s = buf, out;
    const std::size_t e = s.find('e');
    if (e == std::string::npos) return s;
    out = s.substr(0, e + 1);
    std::size_t k = e + 1;
    if (s[k] == '-') out += '-';
    if (s[k] == '-' || s[k] == '+') ++k;
    while (k + 1 < s.size() && s[k] == '0') ++k;
    return out + s.substr(k);
}

/// `s` with &, <, >, " and ' replaced by XML entities.
inline std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out += c;
        }
    }
    return out;
}

namespace detail {

inline std::string svg_num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

/// One axis: its range, ticks, and the map from data to pixels.
struct PlotAxis {
    double lo = 0, hi = 1;
    bool log = false;
    std::vector<double> ticks;
    double pixel(double v, double p0, double p1) const {
        const double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) : (v - lo) / (hi - lo);
        return p0 + t * (p1 - p0);
    }
};

inline bool usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

inline PlotAxis make_axis(const Panel& panel, bool y) {
    PlotAxis a;
    a.log = y && panel.log_y;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const Series& s : panel.series)
        for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
            if (usable(s.x[i], false) && usable(s.y[i], panel.log_y)) {
                const double v = y ? s.y[i] : s.x[i];
                lo = std::min(lo, v), hi = std::max(hi, v);
            }
    if (y && usable(panel.y_min, a.log) && usable(panel.y_max, a.log) && panel.y_min < panel.y_max)
        lo = panel.y_min, hi = panel.y_max;
    if (!(lo <= hi)) lo = a.log ? 0.1 : 0.0, hi = 1.0;
    a.ticks = a.log ? log_ticks(lo, hi) : linear_ticks(lo, hi, y ? 6 : 7);
    a.lo = a.ticks.front(), a.hi = a.ticks.back();
    return a;
}

inline double text_width(const std::string& s, double font_px) { return 0.6 * font_px * static_cast<double>(s.size()); }

}  // namespace detail

/// The figure as a standalone SVG document. Throws ArgumentError when a series' x and y differ in length.
/// @throws ArgumentError when a series' x and y differ in length, naming the series.
inline std::string render_svg(const Figure& fig) {
    using detail::svg_num;
    const double left = 64, right = 16, top = fig.title.empty() ? 8 : 36, panel_top = 26, bottom = 48;
    std::vector<double> legend_w;
    double width = 0, height = fig.plot_height;
    for (const Panel& p : fig.panels) {
        double w = 0;
        for (const Series& s : p.series) {
            check<ArgumentError>(s.x.size() == s.y.size(), "render_svg: series '", s.label, "' has ", s.x.size(),
                                 " x values and ", s.y.size(), " y values");
            w = std::max(w, detail::text_width(s.label, 11) + 40);
        }
        legend_w.push_back(w);
        width += left + fig.plot_width + right + w;
        height = std::max(height, 18.0 * static_cast<double>(p.series.size()) + 10);
    }
    width = std::max(width, detail::text_width(fig.title, 15) + 20);
    const double total_h = top + panel_top + height + bottom + (fig.note.empty() ? 0 : 20);
    std::string o;
    o += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + svg_num(width) + "\" height=\"" + svg_num(total_h) +
         "\" viewBox=\"0 0 " + svg_num(width) + " " + svg_num(total_h) +
         "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
    o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    if (!fig.title.empty())
        o += "<text class=\"figure-title\" x=\"" + svg_num(width / 2) +
             "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" + xml_escape(fig.title) + "</text>\n";
    double x0 = 0;
    for (std::size_t pi = 0; pi < fig.panels.size(); ++pi) {
        const Panel& p = fig.panels[pi];
        const detail::PlotAxis ax = detail::make_axis(p, false), ay = detail::make_axis(p, true);
        const double px0 = left, px1 = left + fig.plot_width, py0 = panel_top + height, py1 = panel_top;
        const std::string clip = "clip" + std::to_string(pi);
        o += "<g class=\"panel\" transform=\"translate(" + svg_num(x0) + "," + svg_num(top) + ")\">\n";
        o += "<defs><clipPath id=\"" + clip + "\"><rect x=\"" + svg_num(px0) + "\" y=\"" + svg_num(py1) + "\" width=\"" +
             svg_num(px1 - px0) + "\" height=\"" + svg_num(py0 - py1) + "\"/></clipPath></defs>\n";
        o += "<text class=\"panel-title\" x=\"" + svg_num((px0 + px1) / 2) + "\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">" +
             xml_escape(p.title) + "</text>\n";
        o += "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
        for (double t : ax.ticks) {
            const double x = ax.pixel(t, px0, px1);
            o += "<line x1=\"" + svg_num(x) + "\" y1=\"" + svg_num(py0) + "\" x2=\"" + svg_num(x) + "\" y2=\"" + svg_num(py1) + "\"/>\n";
        }
        for (double t : ay.ticks) {
            const double y = ay.pixel(t, py0, py1);
            o += "<line x1=\"" + svg_num(px0) + "\" y1=\"" + svg_num(y) + "\" x2=\"" + svg_num(px1) + "\" y2=\"" + svg_num(y) + "\"/>\n";
        }
        o += "</g>\n<rect x=\"" + svg_num(px0) + "\" y=\"" + svg_num(py1) + "\" width=\"" + svg_num(px1 - px0) + "\" height=\"" +
             svg_num(py0 - py1) + "\" fill=\"none\" stroke=\"#333\"/>\n";
        for (double t : ax.ticks)
            o += "<text class=\"x-tick\" x=\"" + svg_num(ax.pixel(t, px0, px1)) + "\" y=\"" + svg_num(py0 + 16) +
                 "\" text-anchor=\"middle\">" + xml_escape(format_tick(t)) + "</text>\n";
        for (double t : ay.ticks)
            o += "<text class=\"y-tick\" x=\"" + svg_num(px0 - 6) + "\" y=\"" + svg_num(ay.pixel(t, py0, py1) + 4) +
                 "\" text-anchor=\"end\">" + xml_escape(format_tick(t)) + "</text>\n";
        o += "<text class=\"x-label\" x=\"" + svg_num((px0 + px1) / 2) + "\" y=\"" + svg_num(py0 + 38) +
             "\" text-anchor=\"middle\">" + xml_escape(p.x_label) + "</text>\n";
        o += "<text class=\"y-label\" transform=\"translate(16," + svg_num((py0 + py1) / 2) +
             ") rotate(-90)\" text-anchor=\"middle\">" + xml_escape(p.y_label + (p.log_y ? " (log scale)" : "")) + "</text>\n";
        for (const Series& s : p.series) {
            const std::string stroke = "stroke=\"" + xml_escape(s.color) + "\"";
            o += "<g class=\"series\" data-label=\"" + xml_escape(s.label) + "\" clip-path=\"url(#" + clip + ")\">\n";
            std::string run, lone;  // the current run's points; its only point as a circle, if it stays alone
            std::size_t run_points = 0;
            auto flush = [&] {
                if (run_points == 1 && s.line && !s.markers) o += lone;
                if (run_points > 1 && s.line)
                    o += "<polyline fill=\"none\" " + stroke + " stroke-width=\"" + svg_num(s.width) + "\"" +
                         (s.dash.empty() ? "" : " stroke-dasharray=\"" + xml_escape(s.dash) + "\"") +
                         " stroke-linejoin=\"round\" points=\"" + run + "\"/>\n";
                run.clear();
                run_points = 0;
            };
            for (std::size_t i = 0; i < s.x.size(); ++i) {
                if (!detail::usable(s.x[i], false) || !detail::usable(s.y[i], ay.log)) {
                    flush();
                    continue;
                }
                const std::string xy[2] = {svg_num(ax.pixel(s.x[i], px0, px1)), svg_num(ay.pixel(s.y[i], py0, py1))};
                run += (run.empty() ? "" : " ") + xy[0] + "," + xy[1];
                lone = "<circle cx=\"" + xy[0] + "\" cy=\"" + xy[1] + "\" r=\"" + (s.markers ? "3" : "2.5") + "\" fill=\"" +
                       xml_escape(s.color) + "\"/>\n";
                if (s.markers) o += lone;
                ++run_points;
            }
            flush();
            o += "</g>\n";
        }
        o += "<g class=\"legend\" font-size=\"11\">\n";
        for (std::size_t k = 0; k < p.series.size(); ++k) {
            const Series& s = p.series[k];
            const double ly = py1 + 10 + 18.0 * static_cast<double>(k), lx = px1 + 12;
            o += "<line x1=\"" + svg_num(lx) + "\" y1=\"" + svg_num(ly) + "\" x2=\"" + svg_num(lx + 24) + "\" y2=\"" + svg_num(ly) +
                 "\" stroke=\"" + xml_escape(s.color) + "\" stroke-width=\"" + svg_num(std::max(s.width, 2.0)) + "\"" +
                 (s.dash.empty() || !s.line ? "" : " stroke-dasharray=\"" + xml_escape(s.dash) + "\"") + "/>\n";
            o += "<text x=\"" + svg_num(lx + 30) + "\" y=\"" + svg_num(ly + 4) + "\">" + xml_escape(s.label) + "</text>\n";
        }
        o += "</g>\n</g>\n";
        x0 += left + fig.plot_width + right + legend_w[pi];
    }
    if (!fig.note.empty())
        o += "<text class=\"note\" x=\"8\" y=\"" + svg_num(total_h - 8) + "\" font-size=\"11\" fill=\"#555\">" +
             xml_escape(fig.note) + "</text>\n";
    o += "</svg>\n";
    return o;
}

/// Writes render_svg(fig) to `path`. Throws IoError when the file cannot be written, ArgumentError as
/// render_svg does.
/// @throws IoError when the file cannot be opened or written; ArgumentError as render_svg().
inline void write_svg(const std::string& path, const Figure& fig) {
    const std::string svg = render_svg(fig);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    check<IoError>(out.is_open(), "write_svg: cannot open '", path, "' for writing");
    out << svg;
    out.flush();
    check<IoError>(out.good(), "write_svg: writing '", path, "' failed");
}

}  // namespace strata::experiment
