// The byte model of a loss: the least memory traffic its forward and backward need.
#pragma once

#include <cstddef>

#include "cases.hpp"

namespace xtape::bench {

/// The bytes a loss must move at least, in float32: every input read once
/// (labels included, as 4-byte numbers), the gradient of the differentiated
/// input written once, and the output written once. Intermediates that a
/// fused kernel keeps in registers or cache cost nothing; reading pred a second
/// time in the backward pass is not counted (the bound assumes the forward and
/// backward are one pass). E.g. L2Loss on 4096 x 1024: pred + label read
/// (2 x 16 MiB), gradient written (16 MiB), 4096 outputs: 48 MiB + 16 KiB.
std::size_t minimum_traffic_bytes(const CaseSpec& spec, const InputArrays& inputs);

}  // namespace xtape::bench
