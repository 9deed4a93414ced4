// The kernel calls that run a fused program on one tile, and the scratch tile
// each intermediate lives in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "program.hpp"

namespace xtape::detail {

/// Which slots a fused program computes and differentiates, for the inputs
/// that want a gradient.
struct TileAnalysis {
    std::vector<bool> forward;    // the slots the output depends on
    std::vector<bool> adjoint;    // the slots that carry a gradient from the output to an input that wants one
    std::vector<bool> recompute;  // the slots whose values a derivative reads (or such a slot's operands)
    std::vector<bool> slope;      // the slots whose slope the forward-and-backward pass computes with the value
};

/// The analysis of a program for its values alone (`wants_grad` empty), or for
/// its gradients with respect to the inputs k with wants_grad[k].
TileAnalysis analyse(const ElementwiseProgram& program, std::uint32_t output, const InputFlags& wants_grad);

/// Where a kernel reads or writes on the current tile: an input, an input's
/// gradient, the seed, the caller's output, or a scratch tile.
struct TileLocation {
    enum class Kind : std::uint8_t { none, input, grad, seed, out, scratch };
    Kind kind = Kind::none;
    std::uint32_t index = 0;  // of the input, gradient or scratch tile
};

/// One kernel call of a plan (tile_kernels.hpp), with the locations it reads
/// (`none` where it reads nothing) and the ones it writes.
struct TileCall {
    enum class Kernel : std::uint8_t { apply, apply_with_slope, derivative, times_slope };
    Kernel kernel = Kernel::apply;
    std::uint32_t instruction = 0;  // its index in the program's code
    int which = 0;                  // the operand a derivative is taken for
    TileLocation a, b, y, g, addend;
    TileLocation slope;   // read by times_slope, written by apply_with_slope
    TileLocation target;  // the result
};

/// What runs on one tile.
enum class TileMode {
    forward,           // the output's values, into the caller's output
    backward,          // the gradients: the values the derivatives read, then the reverse sweep
    forward_backward,  // the output's values (left in a scratch tile) and the gradients, from one evaluation
};

/// The kernel calls of one mode, in order. A scratch tile is reused once the
/// value in it is dead, so that a tile's working set stays in the L1 cache:
/// every tile sits at the same offset in a 4 KB page, and the L1 holds only a
/// dozen of them (a tile per value, slope and adjoint of each instruction thrashed it).
struct TilePlan {
    std::vector<TileCall> calls;
    std::size_t scratch_tiles = 0;
    TileLocation output;  // where forward_backward leaves the output's values
};

/// The plan of `mode` for a program whose output is not one of its inputs.
TilePlan plan_tiles(const ElementwiseProgram& program, std::uint32_t output, const TileAnalysis& analysis,
                    TileMode mode);

/// A program's analysis and the plans of its modes: for its values alone
/// (`forward`), or for its gradients (`backward` and `forward_backward`). The
/// plans are empty when the output is an input.
struct TilePlans {
    TileAnalysis analysis;
    TilePlan forward, backward, forward_backward;
    std::size_t scratch_tiles = 0;  // the most that one of the plans uses
};

/// The plans of `program` for its values alone (`wants_grad` empty) or for the
/// gradients of the inputs k with wants_grad[k]. Each thread keeps those of the
/// last few programs it was asked for (RecentEntries): planning allocates, and
/// a small loss would pay for it at every call.
std::shared_ptr<const TilePlans> tile_plans(const ElementwiseProgram& program, std::uint32_t output,
                                            const InputFlags& wants_grad);

}  // namespace xtape::detail
