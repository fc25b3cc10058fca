// train_mnist_compare: a helper of the train_mnist ctest scripts. Compares two training runs to a relative
// tolerance:
//   train_mnist_compare --rtol 1e-5 --checkpoints A.ck B.ck   the model.* tensors (parameters and buffers)
//   train_mnist_compare --rtol 1e-5 --metrics A.jsonl B.jsonl  every number of every line but the timings
// (both may be given). A tensor's difference is max|a - b| / max|a| (relative to A's largest magnitude, as
// tests/support/fixture.hpp's max_rel_diff); a metric's is |a - b| / max(|a|, |b|, 1e-12). Prints the largest
// difference of each comparison and exits 0 when all are within --rtol, 1 when one is not or the two sides
// differ in structure (names, shapes, line counts), 2 on bad arguments or unreadable files.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "strata/io/checkpoint.hpp"

namespace {

using namespace strata;

/// Largest relative difference of the model.* tensors of two checkpoints; throws Error on a structural mismatch.
double compare_checkpoints(const std::string& a_path, const std::string& b_path) {
    const io::Checkpoint a = io::Checkpoint::load(a_path), b = io::Checkpoint::load(b_path);
    const auto names = a.names("model.");
    check<Error>(!names.empty(), a_path, " has no model.* entries");
    check<Error>(names == b.names("model."), a_path, " and ", b_path, " hold different model entries");
    double worst = 0;
    std::string worst_name;
    for (const std::string& name : names) {
        const Tensor<float> x = a.get_tensor<float>(name), y = b.get_tensor<float>(name);
        check<Error>(x.shape() == y.shape(), name, ": shape ", x.shape(), " vs ", y.shape());
        double scale = 0, diff = 0;
        for (index_t i = 0; i < x.numel(); ++i) {
            scale = std::max(scale, std::abs(static_cast<double>(x[i])));
            diff = std::max(diff, std::abs(static_cast<double>(x[i]) - static_cast<double>(y[i])));
            if (std::isnan(x[i]) != std::isnan(y[i])) diff = HUGE_VAL;
        }
        const double rel = scale > 0 ? diff / scale : diff;
        if (rel >= worst) {
            worst = rel;
            worst_name = name;
        }
    }
    std::printf("checkpoints: %zu tensors, largest relative difference %.3g (%s)\n", names.size(), worst,
                worst_name.c_str());
    return worst;
}

/// The numeric fields of one metrics line ("key":number), without the timing fields.
std::map<std::string, double> metrics_fields(const std::string& line) {
    std::map<std::string, double> out;
    std::size_t at = 0;
    while ((at = line.find('"', at)) != std::string::npos) {
        const std::size_t end = line.find('"', at + 1);
        if (end == std::string::npos || end + 1 >= line.size() || line[end + 1] != ':') break;
        const std::string key = line.substr(at + 1, end - at - 1);
        const char* start = line.c_str() + end + 2;
        char* stop = nullptr;
        const double v = std::strtod(start, &stop);
        if (stop != start && key != "images_per_s" && key != "seconds") out[key] = v;
        at = end + 1;
    }
    return out;
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    check<IoError>(static_cast<bool>(in), "cannot read ", path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

/// Largest relative difference of the metrics of two JSON-lines files; throws Error on a structural mismatch.
double compare_metrics(const std::string& a_path, const std::string& b_path) {
    const auto a = read_lines(a_path), b = read_lines(b_path);
    check<Error>(!a.empty() && a.size() == b.size(), a_path, " has ", a.size(), " lines but ", b_path, " has ",
                 b.size());
    double worst = 0;
    std::string where;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto x = metrics_fields(a[i]), y = metrics_fields(b[i]);
        check<Error>(x.size() == y.size() && !x.empty(), "line ", i + 1, " has different fields");
        for (const auto& [key, v] : x) {
            const auto it = y.find(key);
            check<Error>(it != y.end(), "line ", i + 1, ": ", b_path, " has no ", key);
            const double rel = std::abs(v - it->second) / std::max({std::abs(v), std::abs(it->second), 1e-12});
            if (rel >= worst) {
                worst = rel;
                where = "line " + std::to_string(i + 1) + " " + key;
            }
        }
    }
    std::printf("metrics: %zu lines, largest relative difference %.3g (%s)\n", a.size(), worst, where.c_str());
    return worst;
}

}  // namespace

int main(int argc, char** argv) {
    double rtol = 1e-5;
    std::vector<std::pair<std::string, std::string>> checkpoints, metrics;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--rtol" && i + 1 < argc) {
            rtol = std::atof(argv[++i]);
        } else if ((arg == "--checkpoints" || arg == "--metrics") && i + 2 < argc) {
            (arg == "--metrics" ? metrics : checkpoints).emplace_back(argv[i + 1], argv[i + 2]);
            i += 2;
        } else {
            std::fprintf(stderr, "usage: train_mnist_compare [--rtol X] [--checkpoints A B] [--metrics A B]\n");
            return 2;
        }
    }
    try {
        bool ok = true;
        for (const auto& [a, b] : checkpoints) ok = compare_checkpoints(a, b) <= rtol && ok;
        for (const auto& [a, b] : metrics) ok = compare_metrics(a, b) <= rtol && ok;
        std::printf("%s (relative tolerance %g)\n", ok ? "same" : "DIFFERENT", rtol);
        return ok ? 0 : 1;
    } catch (const IoError& e) {
        std::fprintf(stderr, "train_mnist_compare: %s\n", e.what());
        return 2;
    } catch (const FormatError& e) {
        std::fprintf(stderr, "train_mnist_compare: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::printf("DIFFERENT: %s\n", e.what());
        return 1;
    }
}
