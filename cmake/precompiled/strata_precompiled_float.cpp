// strata::precompiled: the instantiations of strata_precompiled.hpp's list for float (an explicit instantiation
// definition may follow the header's `extern template` declaration).
#include "strata_precompiled.hpp"

STRATA_PRECOMPILED_SIGNATURES(template, float)
