// The libtorch peer: the same cases in torch, when built with the torch_peer feature.
#pragma once

#include <optional>
#include <string>

#include "cases.hpp"
#include "training.hpp"

namespace xtape::bench {

/// The peer's libtorch version; none when this build has no peer.
std::optional<std::string> torch_peer_version();

/// Sets torch's intra-op threads (no effect without the peer).
void set_torch_threads(int threads);

/// The torch step of `spec` on copies of `inputs`: the formulation of the loss
/// that matches the spec (gluon-losses.md), the sum of its output, backward to
/// the differentiated input. Nullopt without the peer, or for a loss it has no
/// formulation for.
std::optional<PeerStep> torch_step(const CaseSpec& spec, const InputArrays& inputs);

/// torch's Hessian-vector product, and how it was computed.
struct TorchHvp {
    PeerStep peer;
    std::string method;  // "double backward", or "central difference" where torch has no double backward
};

/// torch's H v of the summed loss with respect to the differentiated input,
/// for `direction` v: the gradient with create_graph, the sum of its product
/// with v, the gradient of that. For a loss whose backward torch cannot
/// differentiate (CTC), the central difference of two gradients at x +- eps v.
/// Nullopt as torch_step.
std::optional<TorchHvp> torch_hvp_step(const CaseSpec& spec, const InputArrays& inputs,
                                       const xt::xarray<float>& direction);

/// torch's side of a training case (`batches` must outlive it): the spec's
/// model with xtape's initial `weights` (see XtapeTraining), its loss and
/// optimizer. Nullopt without the peer.
std::optional<TrainingPeer> torch_training(const TrainingSpec& spec, const TrainingBatches& batches,
                                           const std::vector<xt::xarray<float>>& weights);

}  // namespace xtape::bench
