#pragma once
// Reads the reference tensors that tests/fixtures/generate_fixtures.py writes with PyTorch.
//
// Format (text, one fixture file per case): lines "tensor <name> <rank> <d0> ... <dk>" each followed by one line
// of numel() values written with full float64 precision. Lines starting with '#' are comments.

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "strata/core/tensor.hpp"

namespace strata::test {

/// The named tensors of one fixture file, in double.
class Fixture {
public:
    explicit Fixture(const std::string& file) {
        const std::string path = std::string(STRATA_FIXTURE_DIR) + "/" + file;
        std::ifstream in(path);
        check<IoError>(static_cast<bool>(in), "cannot open fixture ", path);
        std::string word;
        while (in >> word) {
            if (word[0] == '#') {
                std::getline(in, word);
                continue;
            }
            check<FormatError>(word == "tensor", "fixture ", path, ": expected 'tensor', got '", word, "'");
            std::string name;
            int rank = 0;
            in >> name >> rank;
            std::vector<index_t> dims(static_cast<std::size_t>(rank));
            for (auto& d : dims) in >> d;
            Tensor<double> t(Shape(dims.begin(), dims.end()));
            for (index_t i = 0; i < t.numel(); ++i) in >> t[i];
            check<FormatError>(static_cast<bool>(in), "fixture ", path, ": truncated tensor ", name);
            tensors_.emplace(name, std::move(t));
        }
    }

    /// The tensor called `name` converted to T; throws if absent.
    template <class T = double>
    Tensor<T> get(const std::string& name) const {
        auto it = tensors_.find(name);
        check<ArgumentError>(it != tensors_.end(), "fixture has no tensor '", name, "'");
        return it->second.template cast<T>();
    }
    /// A scalar fixture value.
    double scalar(const std::string& name) const { return get(name)[0]; }
    bool has(const std::string& name) const { return tensors_.count(name) != 0; }

private:
    std::map<std::string, Tensor<double>> tensors_;
};

/// The largest |a_i - b_i| over elements, and checks shapes.
template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
    check_shape(a.shape(), b.shape(), "max_abs_diff");
    double m = 0;
    for (index_t i = 0; i < a.numel(); ++i) {
        const double d = std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
        if (d > m || d != d) m = d != d ? INFINITY : d;
    }
    return m;
}

/// Largest |a_i - b_i| / max(|b|_inf, tiny): the error relative to the reference's scale.
template <class A, class B>
double max_rel_diff(const A& a, const B& b) {
    double scale = 1e-30;
    for (index_t i = 0; i < b.numel(); ++i) scale = std::max(scale, std::abs(static_cast<double>(b[i])));
    return max_abs_diff(a, b) / scale;
}

}  // namespace strata::test
