#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "svg_plot.hpp"

using namespace strata;
using namespace strata::experiment;

namespace {

#ifdef STRATA_XMLLINT
/// libxml2's verdict on `svg` (xmllint --noout on a temporary file): empty when it is well-formed XML, else
/// xmllint's messages.
std::string xmllint_errors(const std::string& svg) {
    static int counter = 0;
    const auto base = std::filesystem::temp_directory_path() /
                      ("strata_svg_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    const std::string file = base.string() + ".svg", log = base.string() + ".log";
    std::ofstream(file, std::ios::binary) << svg;
    const int rc = std::system((std::string(STRATA_XMLLINT) + " --noout '" + file + "' 2> '" + log + "'").c_str());
    std::ifstream in(log);
    std::ostringstream messages;
    messages << in.rdbuf();
    std::filesystem::remove(file);
    std::filesystem::remove(log);
    return rc == 0 ? std::string() : "xmllint exit " + std::to_string(rc) + ": " + messages.str();
}
#define CHECK_WELL_FORMED(svg) CHECK(xmllint_errors(svg) == "")
#else
#define CHECK_WELL_FORMED(svg) WARN("xmllint was not found at configure time: well-formedness not checked")
#endif

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

/// What one <g class="series"> of the SVG holds.
struct SeriesInfo {
    std::string label;
    std::size_t polylines = 0, points = 0, circles = 0;
};

std::vector<SeriesInfo> series_of(const std::string& svg) {
    std::vector<SeriesInfo> out;
    for (auto p = svg.find("<g class=\"series\""); p != std::string::npos; p = svg.find("<g class=\"series\"", p + 1)) {
        const std::string body = svg.substr(p, svg.find("</g>", p) - p);
        SeriesInfo s;
        const auto l = body.find("data-label=\"") + 12;
        s.label = body.substr(l, body.find('"', l) - l);
        s.polylines = count(body, "<polyline");
        s.circles = count(body, "<circle");
        for (auto q = body.find("points=\""); q != std::string::npos; q = body.find("points=\"", q + 1)) {
            const std::string pts = body.substr(q + 8, body.find('"', q + 8) - q - 8);
            s.points += count(pts, ",");  // one comma per x,y pair
        }
        out.push_back(s);
    }
    return out;
}

std::vector<std::string> y_tick_labels(const std::string& svg) {
    std::vector<std::string> out;
    for (auto p = svg.find("class=\"y-tick\""); p != std::string::npos; p = svg.find("class=\"y-tick\"", p + 1)) {
        const auto b = svg.find('>', p) + 1;
        out.push_back(svg.substr(b, svg.find('<', b) - b));
    }
    return out;
}

Series line(const std::string& label, std::vector<double> x, std::vector<double> y) {
    Series s;
    s.label = label;
    s.x = std::move(x);
    s.y = std::move(y);
    return s;
}

}  // namespace

TEST_CASE("linear_ticks picks 1-2-5 steps that enclose the range", "[experiment][svg]") {
    CHECK(linear_ticks(0, 2.3, 6) == std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5});
    CHECK(linear_ticks(0, 100, 6) == std::vector<double>{0, 20, 40, 60, 80, 100});
    const auto t = linear_ticks(-0.3, 0.7, 5);
    CHECK(t.front() <= -0.3);
    CHECK(t.back() >= 0.7);
    CHECK(std::count(t.begin(), t.end(), 0.0) == 1);
    const auto flat = linear_ticks(5, 5);  // a constant series still gets an axis around it
    CHECK(flat.front() < 5);
    CHECK(flat.back() > 5);
    CHECK_THROWS_AS(linear_ticks(1, 0), ArgumentError);
    CHECK_THROWS_AS(linear_ticks(0, NAN), ArgumentError);
}

TEST_CASE("log_ticks gives decades, sub-decade ticks in a single decade, and thins many decades", "[experiment][svg]") {
    const auto t = log_ticks(0.0008, 0.03);
    REQUIRE(t.size() == 4);
    CHECK(t[0] == Approx(1e-4));
    CHECK(t[1] == Approx(1e-3));
    CHECK(t[2] == Approx(1e-2));
    CHECK(t[3] == Approx(1e-1));
    const auto one = log_ticks(2, 8);
    REQUIRE(one.size() == 4);
    CHECK(one[0] == Approx(1));
    CHECK(one[1] == Approx(2));
    CHECK(one[2] == Approx(5));
    CHECK(one[3] == Approx(10));
    const auto exact = log_ticks(1, 100);  // exact powers are not widened
    CHECK(exact.size() == 3);
    CHECK(exact.back() == Approx(100));
    const auto many = log_ticks(1e-10, 1e10);
    CHECK(many.size() <= 9);
    CHECK(many.front() == Approx(1e-10));
    CHECK(many.back() == Approx(1e10));
    CHECK_THROWS_WITH(log_ticks(0, 1), Catch::Contains("0 < lo <= hi"));
    CHECK_THROWS_AS(log_ticks(-1, 1), ArgumentError);
}

TEST_CASE("format_tick writes short labels", "[experiment][svg]") {
    CHECK(format_tick(0) == "0");
    CHECK(format_tick(0.25) == "0.25");
    CHECK(format_tick(1500) == "1500");
    CHECK(format_tick(0.001) == "0.001");
    CHECK(format_tick(1e-5) == "1e-5");
    CHECK(format_tick(2e6) == "2e6");
    CHECK(format_tick(-3e-7) == "-3e-7");
}

TEST_CASE("moving_average is a trailing mean that skips non-finite values", "[experiment][svg]") {
    CHECK(moving_average({1, 2, 3, 4}, 2) == std::vector<double>{1, 1.5, 2.5, 3.5});
    CHECK(moving_average({1, 2, 3}, 1) == std::vector<double>{1, 2, 3});
    CHECK(moving_average({4, 2}, 10) == std::vector<double>{4, 3});
    const auto m = moving_average({1, NAN, 3, 5}, 2);
    CHECK(m[0] == 1);
    CHECK(std::isnan(m[1]));
    CHECK(m[2] == 3);  // the window {nan, 3} has one finite value
    CHECK(m[3] == 4);
}

TEST_CASE("render_svg draws well-formed SVG with one group per series and every finite point", "[experiment][svg]") {
    Figure fig;
    fig.title = "Loss & error <test>";
    fig.note = "note";
    Panel a;
    a.title = "with batch-norm";
    a.x_label = "step";
    a.y_label = "loss";
    a.series.push_back(line("plain20-bn", {0, 1, 2, 3}, {2.3, 2.0, 1.5, 1.2}));
    a.series.push_back(line("plain56-bn", {0, 1, 2, 3, 4}, {2.3, NAN, 2.1, 2.0, 1.9}));  // broken in two runs
    a.series.push_back(line("resnet56-bn", {0, 1}, {2.3, 1.0}));
    a.series.back().markers = true;
    a.series.back().dash = "7,4";
    Panel b;
    b.title = "without normalisation";
    b.series.push_back(line("plain56-none", {0, 1, 2}, {2.3, 2.3, 2.3}));
    fig.panels = {a, b};
    const std::string svg = render_svg(fig);
    INFO(svg);
    CHECK_WELL_FORMED(svg);
    CHECK(svg.rfind("<?xml", 0) == 0);
    CHECK(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
    CHECK(svg.find("<script") == std::string::npos);
    CHECK(svg.find("href") == std::string::npos);  // nothing external
    CHECK(svg.find("Loss &amp; error &lt;test&gt;") != std::string::npos);
    CHECK(count(svg, "class=\"panel\"") == 2);
    const auto s = series_of(svg);
    REQUIRE(s.size() == 4);
    CHECK(s[0].label == "plain20-bn");
    CHECK(s[0].polylines == 1);
    CHECK(s[0].points == 4);
    CHECK(s[1].polylines == 1);  // {2.3} alone before the NaN: a dot; then a run of three
    CHECK(s[1].points == 3);
    CHECK(s[1].circles == 1);
    CHECK(s[0].circles == 0);
    CHECK(s[2].circles == 2);
    CHECK(s[3].label == "plain56-none");
    CHECK(s[3].points == 3);
    CHECK(count(svg, "stroke-dasharray=\"7,4\"") == 2);  // the series and its legend sample
    // Legends: one text per series.
    for (const char* label : {">plain20-bn<", ">plain56-bn<", ">resnet56-bn<", ">plain56-none<"}) CHECK(count(svg, label) == 1);
}

TEST_CASE("render_svg's log axis labels decades and drops non-positive values", "[experiment][svg]") {
    Figure fig;
    Panel p;
    p.log_y = true;
    p.y_label = "gradient norm";
    p.series.push_back(line("plain56-none", {0, 1, 2, 3}, {0.0008, 0.0, 0.004, 0.03}));
    p.series.push_back(line("resnet56-none", {0, 1, 2, 3}, {0.03, 0.05, -1, 0.1}));
    fig.panels.push_back(p);
    const std::string svg = render_svg(fig);
    CHECK_WELL_FORMED(svg);
    CHECK(y_tick_labels(svg) == std::vector<std::string>{"0.0001", "0.001", "0.01", "0.1"});
    CHECK(svg.find("gradient norm (log scale)") != std::string::npos);
    const auto s = series_of(svg);
    REQUIRE(s.size() == 2);
    CHECK(s[0].polylines == 1);  // 0.0008 stands alone between the start and the dropped 0: a dot
    CHECK(s[0].points == 2);
    CHECK(s[0].circles == 1);
    CHECK(s[1].polylines == 1);
    CHECK(s[1].points == 2);
    CHECK(s[1].circles == 1);  // 0.1 after the dropped -1
}

#ifdef STRATA_XMLLINT
TEST_CASE("the well-formedness check fails on malformed XML", "[experiment][svg]") {
    CHECK(xmllint_errors("<svg><g></svg>") != "");
    CHECK(xmllint_errors("<svg><text>a & b</text></svg>") != "");
    CHECK(xmllint_errors("<svg x=\"1\"><text>a &amp; b</text></svg>") == "");
}
#endif

TEST_CASE("render_svg handles empty panels and rejects mismatched series", "[experiment][svg]") {
    Figure fig;
    fig.panels.emplace_back();
    CHECK_WELL_FORMED(render_svg(fig));
    fig.panels[0].series.push_back(line("bad", {0, 1}, {1}));
    CHECK_THROWS_WITH(render_svg(fig), Catch::Contains("series 'bad' has 2 x values and 1 y values"));
}

TEST_CASE("write_svg writes the rendered file and reports unwritable paths", "[experiment][svg]") {
    Figure fig;
    fig.panels.emplace_back();
    fig.panels[0].series.push_back(line("s", {0, 1}, {1, 2}));
    const std::string path = (std::filesystem::temp_directory_path() / "strata_svg_test.svg").string();
    write_svg(path, fig);
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    CHECK(text.str() == render_svg(fig));
    std::remove(path.c_str());
    CHECK_THROWS_AS(write_svg("/nonexistent-dir/x.svg", fig), IoError);
}
