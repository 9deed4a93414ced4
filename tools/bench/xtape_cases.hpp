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

}  // namespace xtape::bench
