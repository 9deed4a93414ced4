// The execution layer under the losses: a loss states its formula once, and
// the rule of xtape/execution.hpp runs it fused, in chunks or as plain primitives.
#pragma once

#include <array>
#include <optional>
#include <span>

#include "xtape/chunked.hpp"
#include "xtape/execution.hpp"
#include "xtape/fuse.hpp"
#include "xtape/losses/loss.hpp"

#include "graph_inputs.hpp"

namespace xtape::detail {

/// A loss's per-element formula, written once as a generic function of its
/// inputs' values `v` (a span): instantiated for fused programs and for Vars.
template <class T>
struct ElementwiseFormula {
    ElementwiseFn fused;
    SampleFn<T> eager;
};

/// The formula `f`, a generic callable of a span of values: `[](auto v) { return square(v[0] - v[1]); }`.
template <class T, class F>
ElementwiseFormula<T> elementwise(F f) {
    return {ElementwiseFn(f), SampleFn<T>(f)};
}

/// How the weighted per-element values become one value per sample.
enum class BatchReduction { mean, sum };

/// Gluon's steps for a per-element loss: e = formula(inputs) (each input of
/// inputs[0]'s shape), e * sample_weight (broadcast to that shape, if given)
/// * factor (if given: the weight, L2's w/2), then mean_b or sum_b. Automatic
/// execution makes it one fused node, with sample_weight an input of the fused
/// expression where it varies within a sample and a factor of the per-sample
/// results where it does not. Throws ShapeError naming the loss when
/// sample_weight does not broadcast.
template <class T>
Var<T> reduce_elementwise(const Loss<T>& loss, const ElementwiseFormula<T>& formula, std::span<const Var<T>> inputs,
                          const std::type_identity_t<std::optional<Var<T>>>& sample_weight,
                          std::optional<double> factor, BatchReduction reduction);

/// The most common loss: pred and a label reshaped like it (rule 1), the
/// per-element formula of (pred, label), weighted and averaged per sample.
/// Checks batch_axis and sample_weight before recording anything; throws
/// ShapeError naming the loss as reshape_like and Loss's checks do.
template <class T, class F>
Var<T> pred_label_mean(const Loss<T>& loss, F formula, const Var<T>& pred, const Var<T>& label,
                       const std::optional<Var<T>>& sample_weight, std::optional<double> factor) {
    loss.check_batch_axis(pred);
    loss.check_sample_weight(sample_weight, pred.shape());
    const std::array<Var<T>, 2> in{pred, reshape_like(label, pred, loss.name(), "label")};
    return reduce_elementwise(loss, elementwise<T>(formula), std::span<const Var<T>>(in), sample_weight, factor,
                              BatchReduction::mean);
}

/// What the execution layer needs to know of a loss's graph.
enum class GraphKind {
    mixes_samples,  ///< an op reads across the batch axis: never in chunks
    one_pass,       ///< independent samples, each input read once each way: chunks would only add copies
    several_passes, ///< independent samples, several passes over memory: in chunks when the batch is large
};

/// The samples per chunk in which the rule of Execution runs a graph of this
/// kind over `in`; 0 to record it plainly.
template <class T>
std::size_t graph_chunk_rows(const Loss<T>& loss, const GraphInputs<T>& in, GraphKind kind);

/// graph(in.vars()), a loss's whole graph (formula, weighting and reduction),
/// recorded plainly or in chunks (chunked(), cut by in.splits()) as the rule
/// of Execution says for a graph of this kind. `graph` is any callable: it
/// becomes a SampleFn only for chunks, so that the plain run allocates nothing for it.
template <class T, class Graph>
Var<T> run_graph(const Loss<T>& loss, Graph&& graph, const GraphInputs<T>& in, GraphKind kind) {
    const std::size_t rows = graph_chunk_rows(loss, in, kind);
    if (rows == 0) return graph(in.vars());
    return chunked(SampleFn<T>(std::forward<Graph>(graph)), in.vars(), in.splits(), rows);
}

}  // namespace xtape::detail
