// The libtorch peer: the same cases in torch, when built with the torch_peer feature.
#pragma once

#include <optional>
#include <string>

#include "cases.hpp"

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

}  // namespace xtape::bench
