// The elementwise primitives (rules/elementwise.hpp) over n contiguous
// elements: an eager op's whole array, or a tile of a fused program. Compiled
// once per instruction set (kernels_for_arch.cpp, beside the math kernels)
// and chosen at run time.
#pragma once

#include <cstddef>

#include "elementwise.hpp"

namespace xtape::rules {

/// The kernels for instruction set A. Inputs and outputs may alias.
template <class A, class T>
struct ArchKernels {
    /// out[0:n] = op(a[0:n][, b[0:n]], s).
    static void apply(Op op, Scalars s, std::size_t n, const T* a, const T* b, T* out);

    /// out[0:n] = g times the derivative of op's result y with respect to
    /// operand `which` (0: a, 1: b), given the operands and y (those the
    /// derivative does not read may be null); plus addend[0:n] unless addend
    /// is null (it may be out). Not for piecewise-constant ops.
    static void derivative(Op op, Scalars s, int which, std::size_t n, const T* g, const T* a, const T* b, const T* y,
                           const T* addend, T* out);
    /// For an op whose rule has value_and_slope: out[0:n] as apply, and slope[0:n] = d out / d a.
    static void apply_with_slope(Op op, Scalars s, std::size_t n, const T* a, T* out, T* slope);
    /// out[0:n] = g[0:n] * slope[0:n], a derivative from its slope; plus addend as in derivative.
    static void times_slope(std::size_t n, const T* g, const T* slope, const T* addend, T* out);
    /// to[0:n] = from[0:n] with streaming stores (kernels::arch_stream_copy).
    static void stream(std::size_t n, const T* from, T* to);
};

/// ArchKernels of one instruction set, as function pointers.
template <class T>
struct Kernels {
    void (*apply)(Op, Scalars, std::size_t, const T*, const T*, T*);
    void (*derivative)(Op, Scalars, int, std::size_t, const T*, const T*, const T*, const T*, const T*, T*);
    void (*apply_with_slope)(Op, Scalars, std::size_t, const T*, T*, T*);
    void (*times_slope)(std::size_t, const T*, const T*, const T*, T*);
    void (*stream)(std::size_t, const T*, T*);
};

/// The kernels of the widest instruction set this CPU runs (chosen once).
template <class T>
const Kernels<T>& best_kernels();

/// Throws ValueError naming op when its scalars are outside its domain
/// (smooth_l1's rho <= 0, clip's lo > hi): the one check of the eager ops and
/// of fused expressions.
void check_scalars(Op op, Scalars s);

}  // namespace xtape::rules
