// Chunked evaluation of a per-sample function, recomputed chunk by chunk in the backward pass.
#include "xtape/chunked.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xnoalias.hpp>

#include "xtape/detail/op_support.hpp"

#include "gradient_rows.hpp"
#include "ops/differentiable.hpp"
#include "kernels/reduction.hpp"
#include "kernels/streaming_store.hpp"

namespace xtape {

namespace {

// A tape borrowed from this thread's pool for the duration of a scope: chunked
// calls may nest (a loss inside a chunked model), so each one takes its own.
// The pool keeps its tapes' node storage for the next call.
template <class T>
class ScratchTape {
public:
    ScratchTape() {
        auto& pool = free_tapes();
        if (pool.empty()) {
            tape_ = std::make_unique<Tape<T>>();
            // Only the chunk's inputs' gradients are read: pass-through ones move.
            tape_->set_keep_intermediate_grads(false);
        } else {
            tape_ = std::move(pool.back());
            pool.pop_back();
        }
    }
    ~ScratchTape() {
        tape_->clear();
        tape_->set_grad_enabled(true);
        free_tapes().push_back(std::move(tape_));
    }
    ScratchTape(const ScratchTape&) = delete;
    ScratchTape& operator=(const ScratchTape&) = delete;

    Tape<T>& get() { return *tape_; }

private:
    static std::vector<std::unique_ptr<Tape<T>>>& free_tapes() {
        thread_local std::vector<std::unique_ptr<Tape<T>>> pool;
        return pool;
    }
    std::unique_ptr<Tape<T>> tape_;
};

// Rows [begin, end) of a row-major array, as an array of their own.
// `storage` (a tape or a gradient context) provides the array.
template <class T, class Storage>
xt::xarray<T> copy_rows(Storage& storage, const xt::xarray<T>& whole, std::size_t begin, std::size_t end) {
    Shape shape = whole.shape();
    const std::size_t row = whole.size() / shape[0];
    shape[0] = end - begin;
    xt::xarray<T> part = storage.buffer(shape);
    std::copy_n(whole.data() + begin * row, (end - begin) * row, part.data());
    return part;
}

// Writes `part` over rows [begin, begin + part rows) of `whole`, with streaming
// stores when `whole` is larger than the caches (kernels::streamed_output_bytes;
// the caller fences them).
template <class T>
void put_rows(const xt::xarray<T>& part, xt::xarray<T>& whole, std::size_t begin) {
    const std::size_t row = whole.size() / whole.shape()[0];
    if (whole.size() * sizeof(T) >= kernels::streamed_output_bytes) {
        return kernels::stream_copy(part.size(), part.data(), whole.data() + begin * row);
    }
    std::copy_n(part.data(), part.size(), whole.data() + begin * row);
}

// Writes the gradient that a chunk's backward left at node `index` of
// `chunk_tape` (0 where none reached it) over rows [begin, end) of `whole`.
template <class T>
void put_gradient_rows(const Tape<T>& chunk_tape, std::uint32_t index, xt::xarray<T>& whole, std::size_t begin,
                       std::size_t end) {
    if (chunk_tape.has_grad_of(index)) {
        put_rows(chunk_tape.grad_of(index), whole, begin);
        return;
    }
    const std::size_t row = whole.size() / whole.shape()[0];
    std::fill_n(whole.data() + begin * row, (end - begin) * row, T(0));
}

// The number of samples: the common length of axis 0 of every input split by rows.
template <class T>
std::size_t sample_count(std::span<const Var<T>> inputs, std::span<const Split> splits) {
    if (splits.size() != inputs.size()) {
        throw ShapeError(fmt::format("chunked: {} splits given for {} inputs", splits.size(), inputs.size()));
    }
    std::optional<std::size_t> samples;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        if (splits[k] != Split::rows) continue;
        const Shape& shape = inputs[k].shape();
        if (shape.empty()) throw ShapeError(fmt::format("chunked: input {} is 0-d and has no rows to split", k));
        if (samples && *samples != shape[0]) {
            throw ShapeError(fmt::format("chunked: input {} of shape {} has {} rows, an earlier input has {}", k,
                                         to_string(shape), shape[0], *samples));
        }
        samples = shape[0];
    }
    if (!samples) throw ShapeError("chunked: no input is split by rows");
    return *samples;
}

// Checks that a chunk's output has one row per sample of the chunk, and the
// same trailing shape as the first chunk's output (`first`, when given).
template <class T>
void check_chunk_output(const Var<T>& y, std::size_t rows, const Shape* first) {
    const Shape& shape = y.shape();
    const bool rows_match = !shape.empty() && shape[0] == rows;
    const bool trailing_match =
        first == nullptr || (first->size() == shape.size() && std::equal(shape.begin() + 1, shape.end(),
                                                                         first->begin() + 1));
    if (!rows_match || !trailing_match) {
        throw ShapeError(fmt::format("chunked: the function returned shape {} for a chunk of {} samples",
                                     to_string(shape), rows));
    }
}

// The inputs of one chunk on `scratch`: rows [begin, end) of the split inputs
// and a copy of the whole ones; leaves where `wants_grad` says so.
template <class T, class Values, class WantsGrad>
std::vector<Var<T>> chunk_inputs(Tape<T>& scratch, std::span<const Split> splits, Values value_of,
                                 WantsGrad wants_grad, std::size_t begin, std::size_t end) {
    std::vector<Var<T>> parts;
    parts.reserve(splits.size());
    for (std::size_t k = 0; k < splits.size(); ++k) {
        const xt::xarray<T>& value = value_of(k);
        xt::xarray<T> part = splits[k] == Split::rows ? copy_rows(scratch, value, begin, end) : value;
        parts.push_back(wants_grad(k) ? scratch.leaf(std::move(part)) : scratch.constant(std::move(part)));
    }
    return parts;
}

// The backward of a chunked node that kept nothing but its inputs: runs f
// again on each chunk, with gradients (gradient checkpointing over the batch).
template <class T>
struct RecomputingBackward {
    SampleFn<T> f;
    std::vector<Split> splits;
    std::size_t rows;
    std::size_t samples;

    void operator()(GradContext<T>& c) const {
        // The gradients of the inputs, filled chunk by chunk: each row of a
        // split input once, the whole inputs summed over the chunks.
        std::vector<xt::xarray<T>> grads(splits.size());
        for (std::size_t k = 0; k < splits.size(); ++k) {
            if (!c.needs_grad(k)) continue;
            grads[k] = c.buffer(c.input(k).shape());
            if (splits[k] == Split::whole) std::fill_n(grads[k].data(), grads[k].size(), T(0));
        }
        ScratchTape<T> scratch;
        TapeScope<T> scope(scratch.get());
        const auto value_of = [&](std::size_t k) -> const xt::xarray<T>& { return c.input(k); };
        const auto wants_grad = [&](std::size_t k) { return c.needs_grad(k); };
        for (std::size_t begin = 0; begin < samples; begin += rows) {
            const std::size_t end = std::min(begin + rows, samples);
            Tape<T>& chunk_tape = scratch.get();
            chunk_tape.clear();
            const auto parts = chunk_inputs<T>(chunk_tape, splits, value_of, wants_grad, begin, end);
            const Var<T> y = f(parts);
            chunk_tape.backward(y, copy_rows(chunk_tape, c.grad(), begin, end));
            for (std::size_t k = 0; k < splits.size(); ++k) {
                if (!c.needs_grad(k)) continue;
                const std::uint32_t index = parts[k].index();
                if (splits[k] == Split::rows) {
                    put_gradient_rows(chunk_tape, index, grads[k], begin, end);
                } else if (chunk_tape.has_grad_of(index)) {
                    xt::noalias(grads[k]) += chunk_tape.grad_of(index);
                }
            }
        }
        kernels::store_fence();  // put_rows may have streamed
        for (std::size_t k = 0; k < splits.size(); ++k) {
            if (c.needs_grad(k)) c.accumulate(k, std::move(grads[k]));
        }
    }
};

}  // namespace

template <class T>
Var<T> chunked(const SampleFn<T>& f, std::span<const Var<T>> inputs, std::span<const Split> splits,
               std::size_t rows) {
    if (rows == 0) throw ValueError("chunked: rows per chunk must be at least 1, got 0");
    if (inputs.empty()) throw ShapeError("chunked: no inputs");
    Tape<T>& tape = detail::tape_of(inputs[0], "chunked");
    for (const Var<T>& input : inputs) detail::tape_of(inputs[0], input, "chunked");
    const std::size_t samples = sample_count(inputs, splits);
    if (samples <= rows) return f(inputs);

    // Each sample's own gradient row can be computed once, in the forward pass,
    // when gradients flow only into inputs split by rows: dL/dx_i = g_i dy_i/dx_i
    // for a y_i that depends on row i alone. The rows need one value per sample.
    bool rows_want_grad = false;
    bool whole_wants_grad = false;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        const bool wanted = inputs[k].requires_grad();
        (splits[k] == Split::rows ? rows_want_grad : whole_wants_grad) |= wanted;
    }
    bool per_sample = tape.grad_enabled() && rows_want_grad && !whole_wants_grad;
    auto gradient_rows = std::make_shared<detail::GradientRows<T>>(inputs.size());

    xt::xarray<T> out;
    {
        ScratchTape<T> scratch;
        TapeScope<T> scope(scratch.get());
        const auto value_of = [&](std::size_t k) -> const xt::xarray<T>& { return inputs[k].value(); };
        const auto wants_grad = [&](std::size_t k) { return per_sample && inputs[k].requires_grad(); };
        for (std::size_t begin = 0; begin < samples; begin += rows) {
            const std::size_t end = std::min(begin + rows, samples);
            Tape<T>& chunk_tape = scratch.get();
            chunk_tape.clear();
            chunk_tape.set_grad_enabled(per_sample);
            const auto parts = chunk_inputs<T>(chunk_tape, splits, value_of, wants_grad, begin, end);
            const Var<T> y = f(parts);
            check_chunk_output(y, end - begin, begin == 0 ? nullptr : &out.shape());
            if (begin == 0) {
                Shape shape = y.shape();
                shape[0] = samples;
                out = tape.buffer(shape);
                per_sample = per_sample && y.size() == end - begin;
                for (std::size_t k = 0; k < inputs.size(); ++k) {
                    if (wants_grad(k)) gradient_rows->keep(tape, k, tape.buffer(inputs[k].shape()));
                }
            }
            put_rows(y.value(), out, begin);
            if (!per_sample) continue;
            chunk_tape.backward(y, xt::ones<T>(y.shape()));
            for (std::size_t k = 0; k < inputs.size(); ++k) {
                if (wants_grad(k)) put_gradient_rows(chunk_tape, parts[k].index(), gradient_rows->rows(k), begin, end);
            }
        }
        kernels::store_fence();  // put_rows may have streamed
    }
    // Differentiated twice, the node is f recorded whole on the tape.
    auto differentiable = [f](VarGradContext<T>& c) {
        TapeScope<T> scope(c.tape());
        detail::backward_by_recomposition(c, [&](std::span<const Var<T>> in) { return f(in); });
    };
    RecomputingBackward<T> recompute{f, std::vector<Split>(splits.begin(), splits.end()), rows, samples};
    if (!per_sample) return tape.record("chunked", inputs, std::move(out), std::move(recompute), differentiable);
    auto scale_rows = [gradient_rows, recompute = std::move(recompute)](GradContext<T>& c) {
        if (!gradient_rows->hand_over(c)) recompute(c);
    };
    return tape.record("chunked", inputs, std::move(out), std::move(scale_rows), differentiable);
}

template Var<float> chunked(const SampleFn<float>&, std::span<const Var<float>>, std::span<const Split>, std::size_t);
template Var<double> chunked(const SampleFn<double>&, std::span<const Var<double>>, std::span<const Split>,
                             std::size_t);

}  // namespace xtape
