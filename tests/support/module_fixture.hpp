#pragma once
/// @file
/// Helpers for tests that compare whole modules with the PyTorch fixtures of tests/fixtures/generate_models.py:
/// load a module's state from a fixture by dotted name, and compare gradients and buffers by name.
///
/// Naming convention of those fixtures: every parameter and buffer under its dotted (torchvision) name, "input",
/// "output", "grad_output" (the upstream gradient), "grad.input", "grad.<parameter>" and, after a training-mode
/// forward, "after.<buffer>".

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "strata/nn/module.hpp"
#include "support/fixture.hpp"

namespace strata::test {

/// Copies every named parameter value and buffer of `module` from the fixture tensor of the same dotted name
/// (converted to T). Parameter gradients are left alone.
/// @throws ArgumentError naming the parameter or buffer when the fixture has no tensor of that name.
/// @throws ShapeError naming it and both shapes when the fixture's tensor has another shape.
template <class T>
void load_module_state(nn::Module<T>& module, const Fixture& fixture) {
    auto load = [&](const std::string& name, Tensor<T>& dst, const char* what) {
        check<ArgumentError>(fixture.has(name), "load_module_state: the fixture has no tensor for ", what, " '",
                             name, "'");
        Tensor<T> src = fixture.get<T>(name);
        check<ShapeError>(src.shape() == dst.shape(), "load_module_state: ", what, " '", name, "' has shape ",
                          dst.shape(), " but the fixture's tensor has shape ", src.shape());
        dst.copy_from(src.view());
    };
    for (auto& np : module.named_parameters()) load(np.name, np.parameter->value, "parameter");
    for (auto& nb : module.named_buffers()) load(nb.name, *nb.buffer, "buffer");
}

/// The names of all tensors in fixture file `file` (relative to STRATA_FIXTURE_DIR), in file order.
/// @throws IoError when the file cannot be opened.
inline std::vector<std::string> fixture_tensor_names(const std::string& file) {
    const std::string path = std::string(STRATA_FIXTURE_DIR) + "/" + file;
    std::ifstream in(path);
    check<IoError>(static_cast<bool>(in), "cannot open fixture ", path);
    std::vector<std::string> names;
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("tensor ", 0) == 0) {
            const auto end = line.find(' ', 7);
            names.push_back(line.substr(7, end == std::string::npos ? std::string::npos : end - 7));
        }
    return names;
}

/// The state names (parameters and buffers) that fixture file `file` holds but `module` lacks, i.e. every name
/// other than input/output/grad_output and the "grad." / "after." entries that no named parameter or buffer of
/// the module has. Empty when the module's state covers the fixture's (the strict half that
/// load_module_state does not check).
template <class T>
std::vector<std::string> unexpected_state_names(nn::Module<T>& module, const std::string& file) {
    std::set<std::string> own;
    for (auto& np : module.named_parameters()) own.insert(np.name);
    for (auto& nb : module.named_buffers()) own.insert(nb.name);
    std::vector<std::string> out;
    for (const std::string& n : fixture_tensor_names(file)) {
        if (n == "input" || n == "output" || n == "grad_output" || n.rfind("grad.", 0) == 0 ||
            n.rfind("after.", 0) == 0)
            continue;
        if (!own.count(n)) out.push_back(n);
    }
    return out;
}

/// One named comparison: max_rel_diff(ours, reference).
struct NamedDiff {
    std::string name;
    double rel;
};

/// For every parameter p of `module`: max_rel_diff(p.grad(), fixture["grad." + name]).
/// @throws ArgumentError naming the parameter when the fixture has no gradient for it; ShapeError on a shape
///         mismatch.
template <class T>
std::vector<NamedDiff> parameter_grad_diffs(nn::Module<T>& module, const Fixture& fixture) {
    std::vector<NamedDiff> out;
    for (auto& np : module.named_parameters()) {
        const std::string key = "grad." + np.name;
        check<ArgumentError>(fixture.has(key), "parameter_grad_diffs: the fixture has no '", key, "'");
        out.push_back({np.name, max_rel_diff(np.parameter->grad(), fixture.get(key))});
    }
    return out;
}

/// For every buffer b of `module`: max_rel_diff(b, fixture[prefix + name]) (default prefix "after.": the
/// running statistics after a training-mode forward).
/// @throws ArgumentError naming the buffer when the fixture lacks it; ShapeError on a shape mismatch.
template <class T>
std::vector<NamedDiff> buffer_diffs(nn::Module<T>& module, const Fixture& fixture,
                                    const std::string& prefix = "after.") {
    std::vector<NamedDiff> out;
    for (auto& nb : module.named_buffers()) {
        const std::string key = prefix + nb.name;
        check<ArgumentError>(fixture.has(key), "buffer_diffs: the fixture has no '", key, "'");
        out.push_back({nb.name, max_rel_diff(*nb.buffer, fixture.get(key))});
    }
    return out;
}

/// The largest rel of `diffs` (0 when empty).
inline double worst(const std::vector<NamedDiff>& diffs) {
    double m = 0;
    for (const NamedDiff& d : diffs) m = std::max(m, d.rel);
    return m;
}

}  // namespace strata::test
