#pragma once
/// @file
/// strata's umbrella header: everything a program needs to build, train, save and run networks.
/// Programs that care about compile time include only the headers they use.

#include "strata/version.hpp"

#include "strata/core/error.hpp"
#include "strata/core/random.hpp"
#include "strata/core/shape.hpp"
#include "strata/core/tensor.hpp"

#include "strata/autograd/gradcheck.hpp"
#include "strata/autograd/tape.hpp"

#include "strata/ops/add.hpp"
#include "strata/ops/avg_pool2d.hpp"
#include "strata/ops/batch_norm.hpp"
#include "strata/ops/conv2d.hpp"
#include "strata/ops/cross_entropy.hpp"
#include "strata/ops/dropout.hpp"
#include "strata/ops/global_avg_pool2d.hpp"
#include "strata/ops/linear.hpp"
#include "strata/ops/log_softmax.hpp"
#include "strata/ops/matmul.hpp"
#include "strata/ops/max_pool2d.hpp"
#include "strata/ops/mean.hpp"
#include "strata/ops/mul.hpp"
#include "strata/ops/relu.hpp"
#include "strata/ops/reshape.hpp"
#include "strata/ops/scale.hpp"
#include "strata/ops/squared_hinge.hpp"
#include "strata/ops/sub.hpp"
#include "strata/ops/subsample_pad.hpp"
#include "strata/ops/sum.hpp"

#include "strata/nn/activation.hpp"
#include "strata/nn/aux_head.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/nn/deep_supervision.hpp"
#include "strata/nn/dropout.hpp"
#include "strata/nn/init.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/module.hpp"
#include "strata/nn/residual.hpp"
#include "strata/nn/sequential.hpp"
#include "strata/nn/cost.hpp"
#include "strata/nn/summary.hpp"

#include "strata/models/dsn.hpp"
#include "strata/models/registry.hpp"
#include "strata/models/resnet.hpp"

#include "strata/optim/adam.hpp"
#include "strata/optim/any_optimizer.hpp"
#include "strata/optim/clip.hpp"
#include "strata/optim/param_groups.hpp"
#include "strata/optim/rmsprop.hpp"
#include "strata/optim/schedule.hpp"
#include "strata/optim/schedule/by_name.hpp"
#include "strata/optim/sgd.hpp"

#include "strata/data/cifar10.hpp"
#include "strata/data/data_loader.hpp"
#include "strata/data/dataset.hpp"
#include "strata/data/mnist.hpp"

#include "strata/io/checkpoint.hpp"
#include "strata/io/npz.hpp"

#include "strata/train/evaluate.hpp"
#include "strata/train/state.hpp"
#include "strata/train/trainer.hpp"
