#pragma once
// strata::precompiled (opt-in; cmake/StrataPrecompiled.cmake): the one list of strata's template instantiations
// that are compiled once per scalar type. A target that links strata::precompiled gets this header as a
// precompiled header: the headers below and, after them, an `extern template` declaration of every signature of
// the list for float and double, so its translation units compile their own code only and link the
// instantiations from strata_precompiled_{float,double}.cpp, which instantiate the same list (EXPLICIT =
// `template`). Only public API is listed. A signature here that no longer matches its header fails to compile.

#include "strata/io/checkpoint.hpp"
#include "strata/io/npz.hpp"
#include "strata/models/dsn.hpp"
#include "strata/models/initialise.hpp"
#include "strata/models/model_file.hpp"
#include "strata/models/registry.hpp"
#include "strata/models/resnet.hpp"
#include "strata/nn/activation.hpp"
#include "strata/nn/aux_head.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/conv2d.hpp"
#include "strata/nn/deep_supervision.hpp"
#include "strata/nn/dropout.hpp"
#include "strata/nn/linear.hpp"
#include "strata/nn/module.hpp"
#include "strata/nn/residual.hpp"
#include "strata/nn/sequential.hpp"
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
#include "strata/optim/adam.hpp"
#include "strata/optim/clip.hpp"
#include "strata/optim/param_groups.hpp"
#include "strata/optim/rmsprop.hpp"
#include "strata/optim/sgd.hpp"

/// The instantiated signatures for the scalar type T, each preceded by EXPLICIT (`template` or `extern template`).
#define STRATA_PRECOMPILED_SIGNATURES(EXPLICIT, T) \
    namespace strata::io { \
    /* strata/io/checkpoint.hpp */ \
    EXPLICIT void Checkpoint::add_module<T>(const nn::Module<T>&, const std::string&); \
    EXPLICIT Checkpoint Checkpoint::from_module<T>(const nn::Module<T>&, const std::string&); \
    EXPLICIT LoadReport Checkpoint::load_into<T>(nn::Module<T>&, const LoadOptions&) const; \
    /* strata/io/npz.hpp */ \
    EXPLICIT Checkpoint npz_state<T>(const nn::Module<T>&); \
    EXPLICIT void save_npz<T>(const std::string&, const nn::Module<T>&, bool); \
    EXPLICIT LoadReport load_npz<T>(const std::string&, nn::Module<T>&, bool); \
    } \
    namespace strata::models { \
    /* strata/models/dsn.hpp */ \
    EXPLICIT class Dsn<T>; \
    /* strata/models/initialise.hpp */ \
    EXPLICIT void kaiming_initialise<T>(nn::Module<T>&, Generator&); \
    /* strata/models/model_file.hpp */ \
    EXPLICIT bool add_architecture<T>(io::Checkpoint&, const nn::Module<T>&); \
    EXPLICIT io::Checkpoint model_checkpoint<T>(const nn::Module<T>&); \
    EXPLICIT void save_model<T>(const std::string&, const nn::Module<T>&); \
    EXPLICIT std::unique_ptr<nn::Module<T>> load_model<T>(const io::Checkpoint&); \
    EXPLICIT std::unique_ptr<nn::Module<T>> load_model<T>(const std::string&); \
    /* strata/models/registry.hpp */ \
    EXPLICIT std::unique_ptr<nn::Module<T>> make_model<T>(const std::string&, const ModelSpec&); \
    /* strata/models/resnet.hpp */ \
    EXPLICIT class ResNet<T>; \
    } \
    namespace strata::nn { \
    /* strata/nn/activation.hpp */ \
    EXPLICIT class ReLU<T>; \
    EXPLICIT class Flatten<T>; \
    EXPLICIT class MaxPool2d<T>; \
    EXPLICIT class AvgPool2d<T>; \
    EXPLICIT class GlobalAvgPool2d<T>; \
    /* strata/nn/aux_head.hpp */ \
    EXPLICIT class AuxHead<T>; \
    /* strata/nn/batch_norm.hpp */ \
    EXPLICIT class BatchNorm2d<T>; \
    /* strata/nn/conv2d.hpp */ \
    EXPLICIT class Conv2d<T>; \
    /* strata/nn/deep_supervision.hpp */ \
    EXPLICIT Var<T> classification_loss<T>(LossKind, const Var<T>&, const std::vector<index_t>&); \
    EXPLICIT class DeepSupervisionLoss<T>; \
    /* strata/nn/dropout.hpp */ \
    EXPLICIT class Dropout<T>; \
    /* strata/nn/linear.hpp */ \
    EXPLICIT class Linear<T>; \
    /* strata/nn/module.hpp */ \
    EXPLICIT class Module<T>; \
    /* strata/nn/residual.hpp */ \
    EXPLICIT class ResidualBlock<T>; \
    EXPLICIT class BasicBlock<T>; \
    EXPLICIT class Bottleneck<T>; \
    /* strata/nn/sequential.hpp */ \
    EXPLICIT class Sequential<T>; \
    } \
    namespace strata { \
    /* strata/ops/add.hpp */ \
    EXPLICIT Var<T> add<T>(const Var<T>&, const Var<T>&); \
    /* strata/ops/avg_pool2d.hpp */ \
    EXPLICIT Var<T> avg_pool2d<T>(const Var<T>&, index_t, index_t, index_t, bool); \
    /* strata/ops/batch_norm.hpp */ \
    EXPLICIT Var<T> batch_norm<T>(const Var<T>&, const Var<T>&, const Var<T>&, Tensor<T>*, Tensor<T>*, bool, double, double); \
    /* strata/ops/conv2d.hpp */ \
    EXPLICIT Var<T> conv2d<T>(const Var<T>&, const Var<T>&, const Var<T>&, Conv2dParams, ConvWeightCache<T>*); \
    EXPLICIT Var<T> conv2d<T>(const Var<T>&, const Var<T>&, Conv2dParams); \
    /* strata/ops/cross_entropy.hpp */ \
    EXPLICIT Var<T> cross_entropy<T>(const Var<T>&, const std::vector<index_t>&); \
    /* strata/ops/dropout.hpp */ \
    EXPLICIT Var<T> dropout<T>(const Var<T>&, double, bool, Generator&); \
    /* strata/ops/global_avg_pool2d.hpp */ \
    EXPLICIT Var<T> global_avg_pool2d<T>(const Var<T>&); \
    /* strata/ops/linear.hpp */ \
    EXPLICIT Var<T> linear<T>(const Var<T>&, const Var<T>&, const Var<T>&); \
    /* strata/ops/log_softmax.hpp */ \
    EXPLICIT Var<T> log_softmax<T>(const Var<T>&); \
    /* strata/ops/matmul.hpp */ \
    EXPLICIT Var<T> matmul<T>(const Var<T>&, const Var<T>&); \
    /* strata/ops/max_pool2d.hpp */ \
    EXPLICIT Var<T> max_pool2d<T>(const Var<T>&, index_t, index_t, index_t); \
    /* strata/ops/mean.hpp */ \
    EXPLICIT Var<T> mean<T>(const Var<T>&); \
    /* strata/ops/mul.hpp */ \
    EXPLICIT Var<T> mul<T>(const Var<T>&, const Var<T>&); \
    /* strata/ops/relu.hpp */ \
    EXPLICIT Var<T> relu<T>(const Var<T>&); \
    /* strata/ops/reshape.hpp */ \
    EXPLICIT Var<T> reshape<T>(const Var<T>&, const Shape&); \
    EXPLICIT Var<T> flatten<T>(const Var<T>&); \
    /* strata/ops/scale.hpp */ \
    EXPLICIT Var<T> scale<T>(const Var<T>&, T); \
    /* strata/ops/squared_hinge.hpp */ \
    EXPLICIT Var<T> squared_hinge_loss<T>(const Var<T>&, const std::vector<index_t>&); \
    /* strata/ops/sub.hpp */ \
    EXPLICIT Var<T> sub<T>(const Var<T>&, const Var<T>&); \
    EXPLICIT Var<T> neg<T>(const Var<T>&); \
    /* strata/ops/subsample_pad.hpp */ \
    EXPLICIT Var<T> subsample_pad_channels<T>(const Var<T>&, index_t, index_t); \
    /* strata/ops/sum.hpp */ \
    EXPLICIT Var<T> sum<T>(const Var<T>&); \
    } \
    namespace strata::optim { \
    /* strata/optim/adam.hpp */ \
    EXPLICIT class Optimizer<T, AdamOptions, AdamState<T>>; \
    EXPLICIT class Optimizer<T, AdamWOptions, AdamState<T>>; \
    EXPLICIT class detail::AdamFamily<T, AdamOptions, false>; \
    EXPLICIT class detail::AdamFamily<T, AdamWOptions, true>; \
    EXPLICIT class Adam<T>; \
    EXPLICIT class AdamW<T>; \
    /* strata/optim/clip.hpp */ \
    EXPLICIT double clip_grad_norm<T>(const std::vector<Parameter<T>*>&, double, double); \
    EXPLICIT void clip_grad_value<T>(const std::vector<Parameter<T>*>&, double); \
    /* strata/optim/param_groups.hpp */ \
    EXPLICIT WeightDecaySplit<T> split_weight_decay<T>(const std::vector<nn::NamedParameter<T>>&, const std::vector<std::string>&); \
    /* strata/optim/rmsprop.hpp */ \
    EXPLICIT class Optimizer<T, RMSpropOptions, RMSpropState<T>>; \
    EXPLICIT class RMSprop<T>; \
    /* strata/optim/sgd.hpp */ \
    EXPLICIT class Optimizer<T, SGDOptions, SGDState<T>>; \
    EXPLICIT class SGD<T>; \
    }

STRATA_PRECOMPILED_SIGNATURES(extern template, float)
STRATA_PRECOMPILED_SIGNATURES(extern template, double)
