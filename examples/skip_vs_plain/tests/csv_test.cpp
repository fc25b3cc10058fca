#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "csv.hpp"

using namespace strata;
using namespace strata::experiment;

namespace {

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("strata_csv_test_" + name)).string();
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("csv_escape quotes only fields that need it", "[experiment][csv]") {
    CHECK(csv_escape("plain56-bn") == "plain56-bn");
    CHECK(csv_escape("a,b") == "\"a,b\"");
    CHECK(csv_escape("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_escape("two\nlines") == "\"two\nlines\"");
    CHECK(csv_escape("") == "");
}

TEST_CASE("csv_number writes floats that round-trip and names non-finite values", "[experiment][csv]") {
    CHECK(csv_number(0.5) == "0.5");
    CHECK(csv_number(-3) == "-3");
    const float f = 0.1f;
    CHECK(static_cast<float>(std::stod(csv_number(f))) == f);
    CHECK(csv_number(std::nan("")) == "nan");
    CHECK(csv_number(HUGE_VAL) == "inf");
    CHECK(csv_number(-HUGE_VAL) == "-inf");
}

TEST_CASE("CsvWriter writes a header and typed rows that read_csv reads back", "[experiment][csv]") {
    const std::string path = temp_path("roundtrip.csv");
    {
        CsvWriter w(path, {"setting", "step", "loss", "note"});
        w.row("plain20-bn", 0, 2.5, "first, with comma");
        w.row(std::string("resnet56-bn"), 7L, 0.125f, "say \"x\"");
        w.row("plain56-none", 3, std::nan(""), "multi\nline");
        CHECK(w.rows() == 3);
        w.flush();
    }
    CHECK(slurp(path).rfind("setting,step,loss,note\nplain20-bn,0,2.5,\"first, with comma\"\n", 0) == 0);
    const CsvTable t = read_csv(path);
    REQUIRE(t.header == std::vector<std::string>{"setting", "step", "loss", "note"});
    REQUIRE(t.rows.size() == 3);
    CHECK(t.rows[0][3] == "first, with comma");
    CHECK(t.rows[1][0] == "resnet56-bn");
    CHECK(t.rows[1][3] == "say \"x\"");
    CHECK(t.rows[2][3] == "multi\nline");
    CHECK(t.number(1, "step") == 7);
    CHECK(t.number(1, "loss") == 0.125);
    CHECK(std::isnan(t.number(2, "loss")));
    CHECK_THROWS_WITH(t.number(0, "setting"), Catch::Contains("'plain20-bn', not a number"));
    CHECK_THROWS_WITH(t.column("epoch"), Catch::Contains("no column 'epoch'") && Catch::Contains("setting, step"));
    std::remove(path.c_str());
}

TEST_CASE("CsvWriter rejects rows of the wrong width and unwritable paths", "[experiment][csv]") {
    const std::string path = temp_path("width.csv");
    CsvWriter w(path, {"a", "b"});
    CHECK_THROWS_WITH(w.row(1, 2, 3), Catch::Contains("row of 3 fields for the 2 columns"));
    CHECK_THROWS_WITH(w.row(1), Catch::Contains("row of 1 fields for the 2 columns"));
    CHECK_THROWS_AS(CsvWriter("/nonexistent-dir/x.csv", {"a"}), IoError);
    CHECK_THROWS_AS(CsvWriter(path, {}), ArgumentError);
    std::remove(path.c_str());
}

TEST_CASE("parse_csv handles CRLF, a missing final newline and rejects malformed text", "[experiment][csv]") {
    const CsvTable t = parse_csv("x,y\r\n1,2\r\n3,4");
    REQUIRE(t.rows.size() == 2);
    CHECK(t.rows[1] == std::vector<std::string>{"3", "4"});
    CHECK(parse_csv("only,header\n").rows.empty());
    CHECK(parse_csv("a\n\"\"\n").rows.at(0).at(0).empty());
    CHECK_THROWS_WITH(parse_csv("a,b\n1,2,3\n"), Catch::Contains("line 2 has 3 fields but the header has 2"));
    CHECK_THROWS_WITH(parse_csv("a,b\n\"1,2\n"), Catch::Contains("unterminated quoted field"));
    CHECK_THROWS_WITH(parse_csv("a,b\n1\"x\",2\n"), Catch::Contains("stray quote on line 2"));
    CHECK_THROWS_WITH(parse_csv("a,b\n\"1\"x,2\n"), Catch::Contains("text after a closing quote"));
    CHECK_THROWS_WITH(parse_csv(""), Catch::Contains("no header"));
    CHECK_THROWS_AS(read_csv("/nonexistent-dir/x.csv"), IoError);
}
