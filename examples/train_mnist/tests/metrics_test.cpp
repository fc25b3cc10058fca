// Tests of train/metrics.hpp: JSON lines with exact numbers and nulls for non-finite values, the epoch field,
// and MetricsWriter's new-run truncation and resumed-run trimming.

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "metrics.hpp"
#include "train_test_util.hpp"

using namespace strata;
using namespace strata::train;
using Catch::Contains;

namespace {
std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}
EpochMetrics sample(index_t epoch) {
    EpochMetrics m;
    m.epoch = epoch;
    m.step = 469 * epoch;
    m.loss = 0.1 + 0.2;
    m.train_acc = 0.8125;
    m.test_loss = 1.0 / 3.0;
    m.test_acc = 0.9;
    m.lr = 0.05;
    m.images_per_s = 1234.56;
    m.seconds = 12.34567;
    return m;
}
}  // namespace

TEST_CASE("to_json_line writes every field, exact metrics, timing last", "[train][metrics]") {
    const std::string line = to_json_line(sample(2));
    CHECK(line ==
          "{\"epoch\":2,\"step\":938,\"loss\":0.30000000000000004,\"train_acc\":0.8125,"
          "\"test_loss\":0.3333333333333333,\"test_acc\":0.9,\"lr\":0.05,\"images_per_s\":1234.6,"
          "\"seconds\":12.346}");
    CHECK(std::strtod(train::detail::json_number(1.0 / 3.0).c_str(), nullptr) == 1.0 / 3.0);
    CHECK(train::detail::json_number(0.0) == "0");
    CHECK(train::detail::json_number(-2.5) == "-2.5");
    CHECK(train::detail::json_number(1e-300) == "1e-300");
}

TEST_CASE("to_json_line writes null for NaN and infinity", "[train][metrics]") {
    EpochMetrics m = sample(1);
    m.loss = std::numeric_limits<double>::quiet_NaN();
    m.test_loss = std::numeric_limits<double>::infinity();
    m.images_per_s = -std::numeric_limits<double>::infinity();
    const std::string line = to_json_line(m);
    CHECK_THAT(line, Contains("\"loss\":null") && Contains("\"test_loss\":null") && Contains("\"images_per_s\":null"));
    CHECK(line.find("nan") == std::string::npos);
    CHECK(line.find("inf") == std::string::npos);
}

TEST_CASE("epoch_of_json_line", "[train][metrics]") {
    CHECK(epoch_of_json_line(to_json_line(sample(12))) == 12);
    CHECK(epoch_of_json_line("{\"step\":3}") == -1);
    CHECK(epoch_of_json_line("{\"epoch\":x}") == -1);
    CHECK(epoch_of_json_line("") == -1);
}

TEST_CASE("MetricsWriter: a new run truncates, a resumed run keeps the completed epochs", "[train][metrics]") {
    test::TrainTempDir dir;
    const std::string path = dir.file("m.jsonl");
    {
        std::ofstream old(path);
        old << "stale line\n";
    }
    {
        MetricsWriter w(path);
        CHECK(w.is_open());
        for (index_t e = 1; e <= 3; ++e) w.write(sample(e));
    }
    std::string text = read(path);
    CHECK(text.find("stale") == std::string::npos);
    CHECK(text == to_json_line(sample(1)) + "\n" + to_json_line(sample(2)) + "\n" + to_json_line(sample(3)) + "\n");

    {  // the checkpoint had completed 2 epochs when the run stopped: epoch 3's line is dropped, then appended anew
        MetricsWriter w(path, 2);
        EpochMetrics again = sample(3);
        again.loss = 0.25;
        w.write(again);
    }
    text = read(path);
    CHECK(text == to_json_line(sample(1)) + "\n" + to_json_line(sample(2)) + "\n" + to_json_line([] {
                      EpochMetrics m = sample(3);
                      m.loss = 0.25;
                      return m;
                  }()) + "\n");
    CHECK(dir.listing().size() == 1);  // the rewrite left no temporary file

    {  // resuming with no file yet creates it
        MetricsWriter w(dir.file("new.jsonl"), 5);
        w.write(sample(6));
    }
    CHECK(read(dir.file("new.jsonl")) == to_json_line(sample(6)) + "\n");

    MetricsWriter none;
    CHECK_FALSE(none.is_open());
    none.write(sample(1));  // does nothing
    CHECK_THROWS_WITH(MetricsWriter(dir.file("no/such/dir/m.jsonl")), Contains("no/such/dir/m.jsonl"));
}
