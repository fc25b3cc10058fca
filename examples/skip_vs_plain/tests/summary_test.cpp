#include <catch2/catch.hpp>

#include <cmath>

#include "summary.hpp"

using namespace strata;
using namespace strata::experiment;

TEST_CASE("MarkdownTable renders padded, aligned GitHub tables", "[experiment][summary]") {
    MarkdownTable t({"setting", "loss"});
    t.align_right(1);
    t.add_row({"plain20-bn", "0.83"});
    t.add_row({"plain56-bn", "1.9"});
    CHECK(t.rows() == 2);
    CHECK(t.columns() == 2);
    CHECK(t.render() ==
          "| setting    | loss |\n"
          "| ---------- | ---: |\n"
          "| plain20-bn | 0.83 |\n"
          "| plain56-bn |  1.9 |\n");
}

TEST_CASE("MarkdownTable escapes pipes and rejects bad rows", "[experiment][summary]") {
    MarkdownTable t({"a"});
    t.add_row({"x|y"});
    CHECK(t.render().find("x\\|y") != std::string::npos);
    CHECK_THROWS_WITH(t.add_row({"1", "2"}), Catch::Contains("row of 2 cells for 1 columns"));
    CHECK_THROWS_AS(t.align_right(1), ArgumentError);
    CHECK_THROWS_AS(MarkdownTable({}), ArgumentError);
}

TEST_CASE("Number formatting for table cells", "[experiment][summary]") {
    CHECK(fixed(0.8312) == "0.831");
    CHECK(fixed(12.34, 1) == "12.3");
    CHECK(fixed(std::nan("")) == "-");
    CHECK(fixed(HUGE_VAL) == "inf");
    CHECK(significant(0.000876) == "8.76e-04");
    CHECK(significant(0.0312) == "0.0312");
    CHECK(significant(354.2) == "354");
    CHECK(significant(2.5e6) == "2.50e+06");
    CHECK(significant(std::nan("")) == "-");
    CHECK(percent(0.1234) == "12.3%");
    CHECK(percent(std::nan("")) == "-");
}
