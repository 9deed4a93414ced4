// Running a fused program's plans on one tile.
#include "tile_program.hpp"

#include <algorithm>

#include "../kernels/streaming_store.hpp"

namespace xtape::detail {

template <class T>
TileProgram<T>::TileProgram(FusedExpression e) : TileProgram(std::move(e), {}, 0) {}

template <class T>
TileProgram<T>::TileProgram(FusedExpression e, const InputFlags& wants_grad, std::size_t elements)
    : e_(std::move(e)),
      kernels_(rules::best_kernels<T>()),
      plans_(tile_plans(*e_.program, e_.output, wants_grad)),
      stream_grads_(elements * sizeof(T) >= kernels::streamed_output_bytes) {
    take_tiles();
}

template <class T>
TileProgram<T>::TileProgram(const TileProgram& other)
    : e_(other.e_),
      kernels_(other.kernels_),
      plans_(other.plans_),
      stream_grads_(other.stream_grads_),
      in_place_(other.in_place_) {
    take_tiles();
}

template <class T>
TileProgram<T>::~TileProgram() {
    if (stream_grads_) kernels::store_fence();
}

template <class T>
void TileProgram<T>::take_tiles() {
    const std::size_t size = tiles_needed() * tile_elements;
    if (storage_->size() < size) storage_->resize(size);
}

template <class T>
void TileProgram<T>::prefetch(std::span<const T* const> inputs, std::span<T* const> grads, std::size_t n) {
    prefetcher_.clear();
    for (const T* input : inputs) prefetcher_.add(input, n * sizeof(T), false);
    if (!stream_grads_) {
        for (T* grad : grads) prefetcher_.add(grad, n * sizeof(T), true);
    }
}

template <class T>
void TileProgram<T>::forward(std::span<const T* const> inputs, std::size_t n, T* out) {
    if (e_.output < e_.program->inputs) {
        std::copy_n(inputs[e_.output], n, out);
        return;
    }
    execute(plans_->forward, inputs, {}, nullptr, out, n);
}

template <class T>
void TileProgram<T>::backward(std::span<const T* const> inputs, std::span<T* const> grads, const T* seed,
                              std::size_t n) {
    if (e_.output < e_.program->inputs) {
        if (!plans_->analysis.adjoint[e_.output]) return;
        if (streams(e_.output)) return kernels_.stream(n, seed, grads[e_.output]);
        std::copy_n(seed, n, grads[e_.output]);
        return;
    }
    execute(plans_->backward, inputs, grads, seed, nullptr, n);
}

template <class T>
const T* TileProgram<T>::forward_backward(std::span<const T* const> inputs, std::span<T* const> grads,
                                          const T* seed, std::size_t n) {
    if (e_.output < e_.program->inputs) {
        backward(inputs, grads, seed, n);
        return inputs[e_.output];
    }
    const TilePlan& both = plans_->forward_backward;
    execute(both, inputs, grads, seed, nullptr, n);
    return scratch(both.output.index);
}

template <class T>
void TileProgram<T>::execute(const TilePlan& plan, std::span<const T* const> inputs, std::span<T* const> grads,
                             const T* seed, T* out, std::size_t n) {
    using Kind = TileLocation::Kind;
    const auto written = [&](const TileLocation& l) -> T* {
        switch (l.kind) {
            case Kind::grad: return streams(l.index) ? staged_grad(l.index) : grads[l.index];
            case Kind::out: return out;
            case Kind::scratch: return scratch(l.index);
            default: return nullptr;  // a plan writes nowhere else
        }
    };
    const auto at = [&](const TileLocation& l) -> const T* {
        switch (l.kind) {
            case Kind::input: return inputs[l.index];
            case Kind::seed: return seed;
            default: return written(l);
        }
    };
    prefetcher_.spread_over(plan.calls.size());
    for (const TileCall& call : plan.calls) {
        prefetcher_.step();
        const ElementwiseInstruction& instruction = e_.program->code[call.instruction];
        switch (call.kernel) {
            case TileCall::Kernel::apply: kernels_.apply(instruction.op, instruction.scalars, n, at(call.a), at(call.b), written(call.target)); break;
            case TileCall::Kernel::apply_with_slope:
                kernels_.apply_with_slope(instruction.op, instruction.scalars, n, at(call.a), written(call.target),
                                           written(call.slope));
                break;
            case TileCall::Kernel::derivative:
                kernels_.derivative(instruction.op, instruction.scalars, call.which, n, at(call.g), at(call.a), at(call.b),
                                    at(call.y), at(call.addend), written(call.target));
                break;
            case TileCall::Kernel::times_slope:
                kernels_.times_slope(n, at(call.g), at(call.slope), at(call.addend), written(call.target));
                break;
        }
    }
    if (!stream_grads_) return;
    for (std::size_t k = 0; k < grads.size(); ++k) {
        if (gives_grad(k) && streams(k)) kernels_.stream(n, staged_grad(k), grads[k]);
    }
}

template class TileProgram<float>;
template class TileProgram<double>;

}  // namespace xtape::detail
