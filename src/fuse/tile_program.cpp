// The forward and the reverse sweep of a fused program on one tile.
#include "tile_program.hpp"

#include <algorithm>

namespace xtape::detail {

namespace {

// Storage for tiles, kept per thread from one TileProgram to the next.
template <class T>
std::vector<T>& stored_tiles() {
    thread_local std::vector<T> storage;
    return storage;
}

// `count` tiles: the thread's stored ones, taken over, grown when too few.
template <class T>
std::vector<T> take_tiles(std::size_t count) {
    std::vector<T> tiles = std::move(stored_tiles<T>());
    stored_tiles<T>() = {};
    if (tiles.size() < count * tile_elements) tiles.resize(count * tile_elements);
    return tiles;
}

}  // namespace

template <class T>
TileProgram<T>::TileProgram(FusedExpression e)
    : e_(std::move(e)),
      kernels_(best_tile_kernels<T>()),
      forward_(e_.program->slots(), false),
      value_(e_.program->slots(), nullptr),
      storage_(take_tiles<T>(e_.program->code.size())),
      tiles_(storage_.data()) {
    mark_forward();
}

template <class T>
TileProgram<T>::TileProgram(FusedExpression e, const std::vector<bool>& wants_grad)
    : e_(std::move(e)),
      kernels_(best_tile_kernels<T>()),
      forward_(e_.program->slots(), false),
      adjoint_(e_.program->slots(), false),
      recompute_(e_.program->slots(), false),
      value_(e_.program->slots(), nullptr),
      adjoint_at_(e_.program->slots(), nullptr),
      written_(e_.program->slots(), false),
      storage_(take_tiles<T>(2 * e_.program->code.size() + 1)),
      tiles_(storage_.data()) {
    mark_forward();
    const std::size_t slots = e_.program->slots();
    const std::size_t inputs = e_.program->inputs;
    // Forward: which slots depend on an input that wants a gradient.
    std::vector<bool> reaches_input(slots, false);
    for (std::size_t k = 0; k < inputs; ++k) reaches_input[k] = wants_grad[k];
    for (std::size_t slot = inputs; slot < slots; ++slot) {
        const ElementwiseInstruction& instruction = instruction_of(slot);
        reaches_input[slot] =
            reaches_input[instruction.a] || (is_binary(instruction.op) && reaches_input[instruction.b]);
    }
    // Reverse: which of those the output's gradient reaches, and which values the derivatives read.
    adjoint_[e_.output] = reaches_input[e_.output];
    for (std::size_t slot = slots; slot-- > inputs;) {
        const ElementwiseInstruction& instruction = instruction_of(slot);
        const bool binary = is_binary(instruction.op);
        if (adjoint_[slot]) {
            for (int which = 0; which < (binary ? 2 : 1); ++which) {
                const std::uint32_t operand = which == 0 ? instruction.a : instruction.b;
                if (!reaches_input[operand]) continue;
                adjoint_[operand] = true;
                switch (derivative_reads(instruction.op)) {
                    case DerivativeReads::other_operand:
                        recompute_[which == 0 ? instruction.b : instruction.a] = true;
                        break;
                    case DerivativeReads::operand: recompute_[instruction.a] = true; break;
                    case DerivativeReads::result: recompute_[slot] = true; break;
                    case DerivativeReads::nothing: break;
                }
            }
        }
        if (recompute_[slot]) {
            recompute_[instruction.a] = true;
            if (binary) recompute_[instruction.b] = true;
        }
    }
    for (std::size_t slot = inputs; slot < slots; ++slot) adjoint_at_[slot] = adjoint_tile(slot);
}

template <class T>
TileProgram<T>::~TileProgram() {
    std::vector<T>& stored = stored_tiles<T>();
    if (storage_.size() > stored.size()) stored = std::move(storage_);
}

template <class T>
void TileProgram<T>::mark_forward() {
    forward_[e_.output] = true;
    for (std::size_t slot = e_.program->slots(); slot-- > e_.program->inputs;) {
        if (!forward_[slot]) continue;
        const ElementwiseInstruction& instruction = instruction_of(slot);
        forward_[instruction.a] = true;
        if (is_binary(instruction.op)) forward_[instruction.b] = true;
    }
}

template <class T>
void TileProgram<T>::run(const std::vector<bool>& marked, std::span<const T* const> inputs, std::size_t n, T* out) {
    std::copy(inputs.begin(), inputs.end(), value_.begin());
    for (std::size_t slot = e_.program->inputs; slot < e_.program->slots(); ++slot) {
        if (!marked[slot]) continue;
        const ElementwiseInstruction& instruction = instruction_of(slot);
        T* result = slot == e_.output && out != nullptr ? out : value_tile(slot);
        kernels_.apply(instruction, n, value_[instruction.a], value_[instruction.b], result);
        value_[slot] = result;
    }
}

template <class T>
void TileProgram<T>::forward(std::span<const T* const> inputs, std::size_t n, T* out) {
    if (e_.output < e_.program->inputs) {
        std::copy_n(inputs[e_.output], n, out);
        return;
    }
    run(forward_, inputs, n, out);
}

template <class T>
void TileProgram<T>::backward(std::span<const T* const> inputs, std::span<T* const> grads, const T* seed,
                              std::size_t n) {
    run(recompute_, inputs, n, nullptr);
    sweep(grads, seed, n);
}

template <class T>
const T* TileProgram<T>::forward_backward(std::span<const T* const> inputs, std::span<T* const> grads,
                                          const T* seed, std::size_t n) {
    // Every value a derivative reads is one the output depends on.
    run(forward_, inputs, n, nullptr);
    sweep(grads, seed, n);
    return value_[e_.output];
}

template <class T>
void TileProgram<T>::sweep(std::span<T* const> grads, const T* seed, std::size_t n) {
    const std::size_t inputs_count = e_.program->inputs;
    std::copy(grads.begin(), grads.end(), adjoint_at_.begin());
    std::fill(written_.begin(), written_.end(), false);
    T* contribution = tiles_ + 2 * e_.program->code.size() * tile_elements;
    if (e_.output < inputs_count) {
        if (adjoint_[e_.output]) std::copy_n(seed, n, adjoint_at_[e_.output]);
        return;
    }
    for (std::size_t slot = e_.program->slots(); slot-- > inputs_count;) {
        if (!adjoint_[slot]) continue;
        const ElementwiseInstruction& instruction = instruction_of(slot);
        const bool binary = is_binary(instruction.op);
        const T* g = slot == e_.output ? seed : adjoint_at_[slot];
        const std::uint32_t operands[2] = {instruction.a, instruction.b};
        for (int which = 0; which < (binary ? 2 : 1); ++which) {
            const std::uint32_t operand = operands[which];
            if (!adjoint_[operand]) continue;
            T* target = written_[operand] ? contribution : adjoint_at_[operand];
            kernels_.derivative(instruction, which, n, g, value_[instruction.a], binary ? value_[instruction.b] : nullptr,
                                value_[slot], target);
            if (written_[operand]) kernels_.add_into(adjoint_at_[operand], contribution, n);
            written_[operand] = true;
        }
    }
}

template class TileProgram<float>;
template class TileProgram<double>;

}  // namespace xtape::detail
