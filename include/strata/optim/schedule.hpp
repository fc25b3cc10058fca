#pragma once
/// @file
/// All learning-rate schedules: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearWarmup (wrapping any
/// of them), OneCycleLR, ReduceLROnPlateau, and ScheduleDriver (per-iteration or per-epoch stepping).

#include "strata/optim/schedule/base.hpp"
#include "strata/optim/schedule/cosine.hpp"
#include "strata/optim/schedule/driver.hpp"
#include "strata/optim/schedule/one_cycle.hpp"
#include "strata/optim/schedule/plateau.hpp"
#include "strata/optim/schedule/step.hpp"
#include "strata/optim/schedule/warmup.hpp"
