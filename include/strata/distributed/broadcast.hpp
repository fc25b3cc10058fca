#pragma once
/// @file
/// broadcast_parameters: makes every rank start from rank `root`'s parameters and buffers (batch-norm running
/// statistics), and parameters_max_difference() to check that the ranks still agree.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "strata/distributed/communicator.hpp"
#include "strata/nn/module.hpp"

namespace strata::distributed {

namespace detail {

/// Every tensor of a module's state: parameter values first (registration order), then buffers.
template <class T>
std::vector<Tensor<T>*> state_tensors(nn::Module<T>& module, bool include_buffers) {
    std::vector<Tensor<T>*> out;
    for (Parameter<T>* p : module.parameters()) out.push_back(&p->value);
    if (include_buffers)
        for (auto& b : module.named_buffers()) out.push_back(b.buffer);
    return out;
}

/// Throws ArgumentError on every rank unless all ranks hold the same number of tensors and elements (then a
/// broadcast cannot hang or write past a buffer). `what` names the caller.
template <class T>
void check_same_structure(const Communicator& comm, const std::vector<Tensor<T>*>& tensors, const char* what) {
    std::int64_t local[2] = {static_cast<std::int64_t>(tensors.size()), 0};
    for (const Tensor<T>* t : tensors) local[1] += t->numel();
    std::int64_t lo[2] = {local[0], local[1]}, hi[2] = {local[0], local[1]};
    comm.allreduce_min(lo, 2);
    comm.allreduce_max(hi, 2);
    check<ArgumentError>(lo[0] == hi[0] && lo[1] == hi[1], what, ": the ranks hold different models (between ",
                         lo[0], " and ", hi[0], " tensors, ", lo[1], " and ", hi[1], " elements); rank ",
                         comm.rank(), " has ", local[0], " tensors with ", local[1], " elements");
}

}  // namespace detail

/// Copies rank `root`'s parameter values and buffers (running statistics, num_batches_tracked) to every rank
/// of `comm`, so that data-parallel training starts from one model. Gradients and optimizer state are not
/// touched. Collective: every rank must call it. No-op for the local communicator.
/// @throws ArgumentError (on every rank) when the ranks' models differ in tensor count or total size, or when
///         root is outside [0, size).
template <class T>
void broadcast_parameters(nn::Module<T>& module, const Communicator& comm = Communicator::world(), int root = 0) {
    check<ArgumentError>(root >= 0 && root < comm.size(), "broadcast_parameters: root ", root, " outside [0, ",
                         comm.size(), ")");
    if (!comm.uses_mpi()) return;
    const std::vector<Tensor<T>*> tensors = detail::state_tensors(module, true);
    detail::check_same_structure(comm, tensors, "broadcast_parameters");
    for (Tensor<T>* t : tensors) comm.broadcast(t->data(), t->numel(), root);
}

/// The largest |value on this rank - value on rank 0| over every parameter (and, with `include_buffers`, every
/// buffer), maximised over all ranks: 0 when every rank holds bit-identical state. Collective. Useful as a
/// cheap sanity check after a few steps (the gradient averaging keeps replicas identical).
/// @throws ArgumentError when the ranks' models differ in structure.
template <class T>
double parameters_max_difference(nn::Module<T>& module, const Communicator& comm = Communicator::world(),
                                 bool include_buffers = true) {
    if (!comm.uses_mpi()) return 0.0;
    const std::vector<Tensor<T>*> tensors = detail::state_tensors(module, include_buffers);
    detail::check_same_structure(comm, tensors, "parameters_max_difference");
    double worst = 0.0;
    std::vector<T> root_copy;
    for (Tensor<T>* t : tensors) {
        root_copy.assign(t->data(), t->data() + t->numel());
        comm.broadcast(root_copy.data(), t->numel(), 0);
        for (index_t i = 0; i < t->numel(); ++i) {
            const double d = std::abs(static_cast<double>((*t)[i]) - static_cast<double>(root_copy[i]));
            worst = std::isnan(d) ? d : std::max(worst, d);  // a NaN anywhere is reported, not hidden
            if (std::isnan(worst)) break;
        }
    }
    if (std::isnan(worst)) worst = HUGE_VAL;
    comm.allreduce_max(&worst, 1);
    return worst;
}

}  // namespace strata::distributed
