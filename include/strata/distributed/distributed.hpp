#pragma once
/// @file
/// strata's optional distributed (data-parallel, MPI) component: everything in one include. Link
/// strata::distributed (defined only when CMake finds MPI); the core library does not need MPI.

#include "strata/distributed/broadcast.hpp"
#include "strata/distributed/communicator.hpp"
#include "strata/distributed/context.hpp"
#include "strata/distributed/gradient_averager.hpp"
#include "strata/distributed/nn/sync_batch_norm.hpp"
#include "strata/distributed/ops/sync_batch_norm.hpp"
#include "strata/distributed/sampler.hpp"
