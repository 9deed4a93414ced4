// xtape's side of a case: the loss from the registry, forward and backward on one tape.
#pragma once

#include "cases.hpp"

namespace xtape::bench {

/// The timed step of `spec` on `inputs` (which must outlive the step): the loss
/// applied through the registry with its default options, the sum of its
/// output, the backward sweep, and the tape cleared for the next step. The
/// untimed preparation records the differentiated input as a leaf and the others
/// as constants, copies of `inputs`, as a network's output and a batch's labels
/// would already be on the tape.
PeerStep xtape_step(const CaseSpec& spec, const InputArrays& inputs);

/// The Hessian-vector product H v of the same summed loss with respect to the
/// differentiated input, for `direction` v (which must outlive the step):
/// xtape::grad with create_graph, the sum of its product with v, xtape::grad
/// again, and the tape cleared. Prepared as xtape_step, v entered as a constant.
PeerStep xtape_hvp_step(const CaseSpec& spec, const InputArrays& inputs, const xt::xarray<float>& direction);

}  // namespace xtape::bench
