#pragma once
// Running a test on every kernel family (instruction set) the dispatch can pick on this machine.

#include <vector>

#include "strata/core/cpu_features.hpp"

namespace strata::test {

/// Every kernel family the dispatch can pick on this machine.
inline std::vector<Isa> available_isas() {
    std::vector<Isa> isas;
    for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
        if (cpu_supports(isa)) isas.push_back(isa);
    return isas;
}

/// Makes `isa` the active kernel family, and restores the previous one when the scope ends.
struct IsaScope {
    explicit IsaScope(Isa isa) : previous(set_isa(isa)) {}
    IsaScope(const IsaScope&) = delete;
    IsaScope& operator=(const IsaScope&) = delete;
    ~IsaScope() { set_isa(previous); }
    Isa previous;
};

}  // namespace strata::test
