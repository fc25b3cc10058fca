// strata's templates instantiated for double (see instantiations.hpp).
#define STRATA_INSTANTIATE_SCALAR double
#include "support/instantiations.hpp"
