// CTC's negative log-likelihood of the labels, two ways: a fused alpha-beta op and a composition of primitives.
#pragma once

#include <memory>

#include "xtape/losses/ctc_alignment.hpp"
#include "xtape/tape.hpp"

namespace xtape {

/// Per sample n, -log p(l_n | x_n) = -log sum over the alignments π of l_n of
/// prod_t softmax(x_t)[π_t], for activations x of shape (N,T,C) or (T,N,C) as
/// `alignment.layout` says, over the first T_n frames. Shape (N,). Samples that
/// are infeasible, or have no frames, give 0 and gradient 0.
///
/// One node: the forward runs the alpha recursion and keeps it with the softmax
/// (T_n (S_n + C) doubles per sample) for the backward, which runs beta and sends
///   d/dx_{t,c} = g_n (softmax(x_t)_c - sum_{s: l'_s = c} alpha_t(s) beta_t(s) / p)
/// to the activations, and exactly 0 past T_n, so NaN there never leaks. Both
/// recursions run in double in the probability domain, each frame rescaled to sum 1
/// (Graves' scaling); a sample where a value would underflow (saturated or very
/// long inputs) runs in log space instead, so the result is exact to rounding
/// either way. O(T N (C + S)).
/// With create_graph, the gradient is one node (when every sample ran in the
/// scaled domain) whose backward gives H u from the alpha and beta recursions
/// differentiated along u (forward mode over the lattice, O(T N (C + S)) again);
/// beyond that, and for a sample in log space, the composed recursion below.
/// Throws ShapeError when the activations' shape does not match the alignment.
template <class T>
Var<T> ctc_nll(const Var<T>& activations, std::shared_ptr<const CtcAlignment> alignment);

/// The same value composed on the tape from primitives, the reference for
/// ctc_nll: frames past T_n replaced by 0 (`where`) before anything reads them,
/// log_softmax over C once, one gather of the extended labels for all frames,
/// split into frames by halving (2T - 2 slices); then per frame a gather of the
/// stay/advance/skip predecessors, -inf penalties for the moves not allowed, a
/// logsumexp, the frame's emission, and `where` to hold finished samples. About
/// six nodes per frame, each vectorised over batch and states; O(T N C + T log T N S),
/// the log from the split (a node's gradient is dense over its input).
/// Throws ShapeError when the shapes do not match.
template <class T>
Var<T> ctc_nll_composed(const Var<T>& activations, const CtcAlignment& alignment);

}  // namespace xtape
