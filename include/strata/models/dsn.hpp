#pragma once
/// @file
/// dsn(): a deeply-supervised conv net for 1x28x28 inputs in the spirit of Lee et al. 2014 ("Deeply-Supervised
/// Nets"): conv stages, a companion classifier after each hidden stage, squared-hinge (L2-SVM) losses and
/// companion weights that fade out over training.

#include <vector>

#include "strata/nn/aux_head.hpp"
#include "strata/nn/batch_norm.hpp"
#include "strata/nn/deep_supervision.hpp"
#include "strata/nn/init.hpp"
#include "strata/models/initialise.hpp"
#include "strata/nn/residual.hpp"

namespace strata::models {

/// Options of dsn().
struct DsnOptions {
    STRATA_ARG(index_t, in_channels) = 1;
    STRATA_ARG(index_t, num_classes) = 10;
    /// Width of each stage (two 3x3 convs, then a 2x2 max-pool); a companion head follows every stage but the last.
    STRATA_ARG(std::vector<index_t>, widths) = std::vector<index_t>{32, 64, 128};
    STRATA_ARG(nn::Norm, norm) = nn::Norm::batch;
    STRATA_ARG(nn::AuxHeadKind, aux_head) = nn::AuxHeadKind::linear;
    STRATA_ARG(std::uint64_t, seed) = 0;
};

/// A deeply-supervised net: stage1, aux1, stage2, aux2, ..., stageK, then global average pool + FC ("fc").
template <class T>
class Dsn : public nn::Module<T> {
public:
    /// @throws ArgumentError when widths is empty, or a width, in_channels or num_classes is not positive.
    explicit Dsn(const DsnOptions& o) : options_(o) {
        check<ArgumentError>(!o.widths().empty(), "dsn: needs at least one stage");
        const bool bn = o.norm() == nn::Norm::batch;
        index_t in = o.in_channels();
        for (std::size_t s = 0; s < o.widths().size(); ++s) {
            const index_t w = o.widths()[s];
            auto stage = nn::make<nn::Sequential<T>>();
            for (int c = 0; c < 2; ++c) {
                stage->push_back(nn::make<nn::Conv2d<T>>(nn::Conv2dOptions(c == 0 ? in : w, w, 3).padding(1).bias(!bn)));
                if (bn) stage->push_back(nn::make<nn::BatchNorm2d<T>>(nn::BatchNormOptions(w)));
                stage->push_back(nn::make<nn::ReLU<T>>());
            }
            stage->push_back(nn::make<nn::MaxPool2d<T>>(nn::Pool2dOptions(2)));
            stages_.push_back(&this->register_module("stage" + std::to_string(s + 1), std::move(stage)));
            in = w;
            if (s + 1 < o.widths().size())
                // in_size 1: a googlenet-kind companion pools globally (DSN's heads have always done so).
                aux_.push_back(&this->register_module(
                    "aux" + std::to_string(s + 1),
                    nn::make_aux_head<T>(nn::AuxHeadOptions(w, o.num_classes()).kind(o.aux_head()).in_size(1))));
        }
        pool_ = &this->register_module("pool", nn::make<nn::GlobalAvgPool2d<T>>());
        fc_ = &this->register_module("fc", nn::make<nn::Linear<T>>(nn::LinearOptions(in, o.num_classes())));
        Generator gen(o.seed());
        kaiming_initialise<T>(*this, gen);
    }

    /// @throws ShapeError for an input of the wrong shape, naming the module path; what the ops throw otherwise.
    Var<T> forward(const Var<T>& x) override {
        Var<T> y = x;
        for (std::size_t s = 0; s < stages_.size(); ++s) {
            y = (*stages_[s])(y);
            if (s < aux_.size()) y = (*aux_[s])(y);
        }
        return (*fc_)(flatten((*pool_)(y)));
    }
    std::string type_name() const override { return "DSN"; }
    /// The options it was built with.
    const DsnOptions& options() const { return options_; }
    /// The companion head after stage s (0-based), or null.
    nn::AuxHead<T>* aux_head(std::size_t s) const { return s < aux_.size() ? aux_[s] : nullptr; }

private:
    DsnOptions options_;
    std::vector<nn::Sequential<T>*> stages_;
    std::vector<nn::AuxHead<T>*> aux_;
    nn::GlobalAvgPool2d<T>* pool_;
    nn::Linear<T>* fc_;
};

/// A deeply-supervised net for 1x28x28 inputs (three stages 32/64/128 with companion heads after the first two).
/// @throws ArgumentError when widths is empty, or a width, in_channels or num_classes is not positive.
template <class T = float>
std::unique_ptr<Dsn<T>> dsn(const DsnOptions& o = {}) {
    return std::make_unique<Dsn<T>>(o);
}

/// DSN's loss: squared hinge (L2-SVM) for the output and the companions, companion weights `alpha` fading
/// linearly to zero at t = `fade_until` (in the caller's unit of progress), and companion threshold `gamma`.
/// @throws ArgumentError when fade_until <= 0.
inline nn::DeepSupervisionOptions dsn_loss_options(double fade_until, double alpha = 0.3, double gamma = 0.0) {
    return nn::DeepSupervisionOptions()
        .main_loss(nn::LossKind::squared_hinge)
        .aux_loss(nn::LossKind::squared_hinge)
        .weights({nn::AuxWeight::linear_decay(alpha, fade_until)})
        .threshold(gamma);
}

}  // namespace strata::models
