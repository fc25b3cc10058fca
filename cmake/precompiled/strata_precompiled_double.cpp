// strata::precompiled: the instantiations of strata_precompiled.hpp's list for double (an explicit instantiation
// definition may follow the header's `extern template` declaration).
#include "strata_precompiled.hpp"

STRATA_PRECOMPILED_SIGNATURES(template, double)
