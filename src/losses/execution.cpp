// The execution layer under the losses, and the per-thread settings of xtape/execution.hpp.
#include "execution.hpp"

#include <algorithm>
#include <vector>

#include "xtape/ops.hpp"

namespace xtape {

namespace {
Execution& execution_setting() {
    thread_local Execution execution = Execution::automatic;
    return execution;
}
std::size_t& chunk_elements_setting() {
    thread_local std::size_t elements = 32768;
    return elements;
}
}  // namespace

Execution current_execution() { return execution_setting(); }

ExecutionScope::ExecutionScope(Execution execution) : previous_(execution_setting()) {
    execution_setting() = execution;
}

ExecutionScope::~ExecutionScope() { execution_setting() = previous_; }

std::size_t loss_chunk_elements() { return chunk_elements_setting(); }

LossChunkingScope::LossChunkingScope(std::size_t elements) : previous_(chunk_elements_setting()) {
    chunk_elements_setting() = elements;
}

LossChunkingScope::~LossChunkingScope() { chunk_elements_setting() = previous_; }

namespace detail {

namespace {

// Samples per chunk for a batch along axis 0 of `main` in chunks of
// loss_chunk_elements() elements; 0 when it cannot run in chunks.
template <class T>
std::size_t chunk_rows(const Loss<T>& loss, const Var<T>& main) {
    const std::size_t budget = loss_chunk_elements();
    if (budget == 0 || main.dimension() == 0 || main.size() == 0) return 0;
    if (normalize_axis(loss.batch_axis(), main.dimension(), loss.name()) != 0) return 0;
    return std::max<std::size_t>(1, budget / (main.size() / main.shape()[0]));
}

// sample_weight as (N,) when it is constant over each sample of a loss of rank
// `rank`; nullopt when it varies within a sample.
template <class T>
std::optional<Var<T>> per_sample_weight(const Loss<T>& loss, const Var<T>& sample_weight, std::size_t rank) {
    const std::size_t batch = normalize_axis(loss.batch_axis(), rank, loss.name());
    const Shape& shape = sample_weight.shape();
    const std::size_t offset = rank - shape.size();  // broadcasting aligns trailing axes
    std::size_t samples = 1;
    for (std::size_t d = 0; d < shape.size(); ++d) {
        if (d + offset == batch) {
            samples = shape[d];
        } else if (shape[d] != 1) {
            return std::nullopt;
        }
    }
    return reshape(sample_weight, Shape{samples});
}

template <class T>
Var<T> reduce_batch(const Loss<T>& loss, const Var<T>& e, BatchReduction reduction) {
    return reduction == BatchReduction::mean ? loss.batch_mean(e) : loss.batch_sum(e);
}

// Gluon's steps one primitive at a time.
template <class T>
Var<T> eager_reduce(const Loss<T>& loss, const ElementwiseFormula<T>& formula, std::span<const Var<T>> inputs,
                    const std::optional<Var<T>>& sample_weight, std::optional<double> factor,
                    BatchReduction reduction) {
    return reduce_batch(loss, loss.apply_weighting(formula.eager(inputs), sample_weight, factor), reduction);
}

// One fused node (and, for weights constant over each sample, a product of the per-sample results).
template <class T>
Var<T> fused_reduce(const Loss<T>& loss, const ElementwiseFormula<T>& formula, std::span<const Var<T>> inputs,
                    const std::optional<Var<T>>& sample_weight, std::optional<double> factor,
                    BatchReduction reduction) {
    const Shape& shape = inputs[0].shape();
    if (shape.size() <= 1) {  // each element is its own sample
        return loss.apply_weighting(fuse(inputs, formula.fused), sample_weight, factor);
    }
    const std::optional<Var<T>> weight_per_sample =
        sample_weight ? per_sample_weight(loss, *sample_weight, shape.size()) : std::nullopt;
    const bool weight_inside = sample_weight && !weight_per_sample;
    xt::svector<Var<T>, 8> operands(inputs.begin(), inputs.end());
    if (weight_inside) {
        operands.push_back(sample_weight->shape() == shape ? *sample_weight : broadcast_to(*sample_weight, shape));
    }
    // The factor scales each element, as Gluon weights before the mean: after the
    // reduction its backward would be one more pass over the gradient rows.
    struct Weighting {
        const ElementwiseFn& formula;
        std::size_t count;
        bool weight_inside;
        std::optional<double> factor;
    } const weighting{formula.fused, inputs.size(), weight_inside, factor};
    // Captures one pointer, which std::function holds without allocating.
    const ElementwiseFn weighted = [w = &weighting](std::span<const ElementwiseExpr> v) {
        ElementwiseExpr e = w->formula(v.first(w->count));
        if (w->weight_inside) e = e * v[w->count];
        if (w->factor) e = e * *w->factor;
        return e;
    };
    const Axes axes = loss.non_batch_axes(shape.size());
    const std::span<const Var<T>> in(operands.data(), operands.size());
    const Var<T> reduced = reduction == BatchReduction::mean ? fuse_mean<T>(in, weighted, axes)
                                                             : fuse_sum<T>(in, weighted, axes);
    return weight_per_sample ? loss.apply_weighting(reduced, weight_per_sample, std::nullopt) : reduced;
}

}  // namespace

template <class T>
Var<T> reduce_elementwise(const Loss<T>& loss, const ElementwiseFormula<T>& formula, std::span<const Var<T>> inputs,
                          const std::type_identity_t<std::optional<Var<T>>>& sample_weight,
                          std::optional<double> factor, BatchReduction reduction) {
    loss.check_sample_weight(sample_weight, inputs[0].shape());
    switch (current_execution()) {
        case Execution::eager: return eager_reduce(loss, formula, inputs, sample_weight, factor, reduction);
        case Execution::automatic: return fused_reduce(loss, formula, inputs, sample_weight, factor, reduction);
        case Execution::chunked: break;
    }
    GraphInputs<T> in;
    for (const Var<T>& input : inputs) in.add_rows(input);
    const auto weight_at = in.add_weight(sample_weight, inputs[0].shape());
    const std::size_t count = inputs.size();
    const SampleFn<T> graph = [loss, formula, factor, reduction, weight_at, count](std::span<const Var<T>> v) {
        return eager_reduce(loss, formula, v.first(count), input_at(v, weight_at), factor, reduction);
    };
    return run_graph(loss, graph, in, GraphKind::several_passes);
}

template <class T>
std::size_t graph_chunk_rows(const Loss<T>& loss, const GraphInputs<T>& in, GraphKind kind) {
    const Execution execution = current_execution();
    const bool plain = execution == Execution::eager || kind == GraphKind::mixes_samples ||
                       (execution == Execution::automatic && kind == GraphKind::one_pass);
    if (plain) return 0;
    // A batch that fits in one chunk is recorded plainly, as chunked() would record it.
    const std::size_t rows = chunk_rows(loss, in.vars()[0]);
    return rows != 0 && in.vars()[0].shape()[0] > rows ? rows : 0;
}

#define XTAPE_INSTANTIATE(T)                                                                                     \
    template Var<T> reduce_elementwise(const Loss<T>&, const ElementwiseFormula<T>&, std::span<const Var<T>>,  \
                                       const std::optional<Var<T>>&, std::optional<double>, BatchReduction);    \
    template std::size_t graph_chunk_rows(const Loss<T>&, const GraphInputs<T>&, GraphKind);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace detail

}  // namespace xtape
