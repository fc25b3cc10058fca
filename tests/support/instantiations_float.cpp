// strata's templates instantiated for float (see instantiations.hpp).
#define STRATA_INSTANTIATE_SCALAR float
#include "support/instantiations.hpp"
