// Running a fused elementwise program on one tile: its forward, and its reverse sweep.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "program.hpp"
#include "../rules/kernels.hpp"
#include "../thread_scratch.hpp"
#include "tile_plan.hpp"
#include "tile_prefetcher.hpp"

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

    /// For the backward pass: `wants_grad[k]` says whether input k wants a
    /// gradient; each gradient has `elements` elements, and is written with
    /// streaming stores when that is kernels::streamed_output_bytes or more.
    TileProgram(FusedExpression e, const InputFlags& wants_grad, std::size_t elements);

    /// The same plans with scratch tiles of its own: for another thread's share of the tiles.
    TileProgram(const TileProgram& other);

    ~TileProgram();  // orders the streamed gradients' stores (kernels::store_fence)
    TileProgram& operator=(const TileProgram&) = delete;

    /// Whether input k gets a gradient from backward (it wants one and the output depends on it).
    bool gives_grad(std::size_t k) const { return plans_->analysis.adjoint[k]; }

    /// Whether backward reads input k's values (a derivative needs them, or a
    /// value that one needs): the caller need not fetch the others.
    bool backward_reads(std::size_t k) const { return plans_->analysis.recompute[k]; }

    /// Input k's gradient goes straight to grads[k], never streamed: a tile
    /// that the caller reads at once (a row-value input's, summed over rows).
    void write_in_place(std::size_t k) {
        if (in_place_.size() <= k) in_place_.resize(k + 1);  // new flags false
        in_place_[k] = true;
    }

    /// The output's n values at the inputs' values `inputs[k][0:n]`, written to `out`.
    void forward(std::span<const T* const> inputs, std::size_t n, T* out);

    /// grads[k][0:n] = the gradient of sum(seed * output) with respect to input k,
    /// for each k that gives_grad (grads[k] is ignored for the others).
    void backward(std::span<const T* const> inputs, std::span<T* const> grads, const T* seed, std::size_t n);

    /// Names the tile that the call after the next one will work on: the next
    /// call (forward, backward or forward_backward) fetches `inputs[k][0:n]`
    /// and, unless they are streamed, `grads[k][0:n]` into the cache, a share
    /// before each of its passes (null pointers are skipped). See TilePrefetcher.
    void prefetch(std::span<const T* const> inputs, std::span<T* const> grads, std::size_t n);

    /// backward, from values computed once for both: returns the output's n
    /// values (valid until the next call). For a program built for the backward pass.
    const T* forward_backward(std::span<const T* const> inputs, std::span<T* const> grads, const T* seed,
                              std::size_t n);

private:
    // Runs `plan` on one tile: the locations resolved to the given pointers and
    // the scratch tiles; streamed gradients are staged in a tile each, then streamed.
    void execute(const TilePlan& plan, std::span<const T* const> inputs, std::span<T* const> grads, const T* seed,
                 T* out, std::size_t n);
    // The scratch tiles, and with stream_grads_ a staging tile per input.
    std::size_t tiles_needed() const { return plans_->scratch_tiles + (stream_grads_ ? e_.program->inputs : 0); }
    T* scratch(std::size_t tile) { return storage_->data() + tile * tile_elements; }
    // Grows the thread's tiles (storage_) to tiles_needed(), when they are fewer.
    void take_tiles();
    T* staged_grad(std::size_t k) { return scratch(plans_->scratch_tiles + k); }
    bool streams(std::size_t k) const { return stream_grads_ && !(k < in_place_.size() && in_place_[k]); }

    FusedExpression e_;
    const rules::Kernels<T>& kernels_;
    std::shared_ptr<const TilePlans> plans_;
    TilePrefetcher prefetcher_;
    bool stream_grads_ = false;
    InputFlags in_place_;  // the gradients written in place (write_in_place)
    ScratchVector<T> storage_;  // the scratch tiles, then with stream_grads_ a staging tile per input
};

}  // namespace xtape::detail
