// The libtorch peer when the build has none: every case is xtape's alone.
#include "torch_peer.hpp"

namespace xtape::bench {

std::optional<std::string> torch_peer_version() { return std::nullopt; }

void set_torch_threads(int) {}

std::optional<PeerStep> torch_step(const CaseSpec&, const InputArrays&) { return std::nullopt; }

std::optional<TorchHvp> torch_hvp_step(const CaseSpec&, const InputArrays&, const xt::xarray<float>&) {
    return std::nullopt;
}

std::optional<TrainingPeer> torch_training(const TrainingSpec&, const TrainingBatches&,
                                           const std::vector<xt::xarray<float>>&) {
    return std::nullopt;
}

}  // namespace xtape::bench
