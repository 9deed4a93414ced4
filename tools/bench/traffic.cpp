// The byte model of a loss: the least memory traffic its forward and backward need.
#include "traffic.hpp"

namespace xtape::bench {

std::size_t minimum_traffic_bytes(const CaseSpec& spec, const InputArrays& inputs) {
    std::size_t elements = 0;
    for (const auto& [name, array] : inputs) elements += array.size();
    const xt::xarray<float>& differentiated = inputs.at(spec.grad_input);
    const std::size_t batch = differentiated.shape()[0];
    elements += differentiated.size() + batch;
    return elements * sizeof(float);
}

}  // namespace xtape::bench
