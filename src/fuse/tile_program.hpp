// Running a fused elementwise program on one tile: its forward, and its reverse sweep.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "program.hpp"
#include "tile_kernels.hpp"

namespace xtape::detail {

/// Elements per tile: every intermediate of a tile stays in the L1 cache
/// (4 KB per float slot), and the per-instruction dispatch is paid per 1024 elements.
inline constexpr std::size_t tile_elements = 1024;

/// A program and its output slot, as a fused node keeps them.
struct FusedExpression {
    std::shared_ptr<const ElementwiseProgram> program;
    std::uint32_t output;
};

/// Runs one fused expression on tiles of at most tile_elements elements, with
/// the widest kernels this CPU runs. Its scratch tiles come from a per-thread
/// store that it holds while it lives (another one alive on the thread
/// allocates its own) and returns when destroyed.
template <class T>
class TileProgram {
public:
    /// For the forward pass.
    explicit TileProgram(FusedExpression e);

    /// For the backward pass: `wants_grad[k]` says whether input k wants a gradient.
    TileProgram(FusedExpression e, const std::vector<bool>& wants_grad);

    ~TileProgram();
    TileProgram(const TileProgram&) = delete;
    TileProgram& operator=(const TileProgram&) = delete;

    /// Whether input k gets a gradient from backward (it wants one and the output depends on it).
    bool gives_grad(std::size_t k) const { return adjoint_[k]; }

    /// The output's n values at the inputs' values `inputs[k][0:n]`, written to `out`.
    void forward(std::span<const T* const> inputs, std::size_t n, T* out);

    /// grads[k][0:n] = the gradient of sum(seed * output) with respect to input k,
    /// for each k that gives_grad (grads[k] is ignored for the others).
    void backward(std::span<const T* const> inputs, std::span<T* const> grads, const T* seed, std::size_t n);

    /// backward, from values computed once for both: returns the output's n
    /// values (valid until the next call). For a program built for the backward pass.
    const T* forward_backward(std::span<const T* const> inputs, std::span<T* const> grads, const T* seed,
                              std::size_t n);

private:
    const ElementwiseInstruction& instruction_of(std::size_t slot) const {
        return e_.program->code[slot - e_.program->inputs];
    }
    T* value_tile(std::size_t slot) const { return tiles_ + (slot - e_.program->inputs) * tile_elements; }
    T* adjoint_tile(std::size_t slot) const {
        return tiles_ + (e_.program->code.size() + slot - e_.program->inputs) * tile_elements;
    }
    // Marks in forward_ the slots the output depends on.
    void mark_forward();
    // Runs the instructions marked in `run` into their value tiles (the output into `out` when given).
    void run(const std::vector<bool>& marked, std::span<const T* const> inputs, std::size_t n, T* out);
    // The reverse sweep over values already in value_.
    void sweep(std::span<T* const> grads, const T* seed, std::size_t n);

    FusedExpression e_;
    TileKernels<T> kernels_;
    std::vector<bool> forward_;    // the slots the output depends on
    std::vector<bool> adjoint_;    // the slots that carry a gradient from the output to an input that wants one
    std::vector<bool> recompute_;  // the slots whose values a derivative reads (or such a slot's operands)
    std::vector<const T*> value_;  // per slot, its values on the current tile
    std::vector<T*> adjoint_at_;   // per slot, where its adjoint on the current tile goes
    std::vector<bool> written_;    // per slot, whether its adjoint holds a first contribution yet
    std::vector<T> storage_;       // value tiles, adjoint tiles, and one for a contribution
    T* tiles_;
};

}  // namespace xtape::detail
