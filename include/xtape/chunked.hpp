// Evaluating a per-sample function a chunk of samples at a time, keeping none of its intermediates.
#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "xtape/tape.hpp"

namespace xtape {

/// How `chunked` hands an input to the function: cut along axis 0 like the
/// samples, or whole to every chunk (a weight that broadcasts over the batch).
enum class Split { rows, whole };

/// A function of the inputs that treats the rows (axis 0) of its `Split::rows`
/// inputs as independent samples: row i of its output depends on row i of those
/// inputs and on the whole inputs only.
template <class T>
using SampleFn = std::function<Var<T>(std::span<const Var<T>> inputs)>;

/// y = f(inputs), computed `rows` samples at a time and recorded as one node
/// "chunked". Each chunk's intermediates live on a scratch tape whose buffers
/// stay in cache and are reused by the next chunk, so a large batch costs a few
/// passes over main memory instead of one per primitive; only y is kept.
///
/// Gradients take one of two routes. When only inputs split by rows want them
/// and f gives one value per sample, the forward pass also runs each chunk's
/// backward with seed 1 and keeps every sample's gradient row dy_i/dx_i; the
/// backward scales row i by the incoming g_i in place (exact, since y_i depends
/// on row i alone) and hands the rows over to the inputs' gradients, so a
/// second backward through the node takes the other route. Otherwise (a whole input wants a gradient, or a sample has several
/// outputs) the forward records no gradients and the backward runs f again on
/// each chunk, with gradients (gradient checkpointing over the batch).
///
/// When the batch has at most `rows` samples, f is simply called on the inputs
/// (its graph is recorded as usual). f is kept by the node (copy what it
/// captures) and must record on the tape of its inputs (or the current tape).
/// Throws ShapeError naming "chunked" when `splits` does not match `inputs`, when
/// no input is split by rows, when the split inputs disagree on the number of
/// samples, or when f's output does not have one row per sample; throws
/// ValueError when `rows` is 0.
template <class T>
Var<T> chunked(const SampleFn<T>& f, std::span<const Var<T>> inputs, std::span<const Split> splits,
               std::size_t rows);

}  // namespace xtape
