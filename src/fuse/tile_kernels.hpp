// The primitives of fused programs over one tile, compiled once per instruction
// set (tile_kernels_for_arch.cpp, beside the math kernels) and chosen at run time.
#pragma once

#include <cstddef>

#include "program.hpp"

namespace xtape::detail {

/// The tile kernels for instruction set A.
template <class A, class T>
struct ArchTileKernels {
    /// out[0:n] = the instruction's primitive of a[0:n] (and b[0:n] or its scalar).
    static void apply(const ElementwiseInstruction& instruction, std::size_t n, const T* a, const T* b, T* out);

    /// out[0:n] = g times the derivative of the instruction's result y with
    /// respect to operand `which` (0: a, 1: b), given the operands and y; plus
    /// addend[0:n] unless addend is null (it may be out).
    static void derivative(const ElementwiseInstruction& instruction, int which, std::size_t n, const T* g,
                           const T* a, const T* b, const T* y, const T* addend, T* out);
    /// For an op that has_slope: out[0:n] as apply, and slope[0:n] = d out / d a.
    static void apply_with_slope(const ElementwiseInstruction& instruction, std::size_t n, const T* a, T* out,
                                 T* slope);
    /// out[0:n] = g[0:n] * slope[0:n], a derivative from its slope; plus addend as in derivative.
    static void times_slope(std::size_t n, const T* g, const T* slope, const T* addend, T* out);
    /// to[0:n] = from[0:n] with streaming stores (kernels::arch_stream_copy).
    static void stream(std::size_t n, const T* from, T* to);
};

/// ArchTileKernels of one instruction set, as function pointers.
template <class T>
struct TileKernels {
    void (*apply)(const ElementwiseInstruction&, std::size_t, const T*, const T*, T*);
    void (*derivative)(const ElementwiseInstruction&, int, std::size_t, const T*, const T*, const T*, const T*,
                       const T*, T*);
    void (*apply_with_slope)(const ElementwiseInstruction&, std::size_t, const T*, T*, T*);
    void (*times_slope)(std::size_t, const T*, const T*, const T*, T*);
    void (*stream)(std::size_t, const T*, T*);
};

/// The kernels of the widest instruction set this CPU runs.
template <class T>
TileKernels<T> best_tile_kernels();

}  // namespace xtape::detail
