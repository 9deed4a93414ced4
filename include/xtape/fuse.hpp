// Fusing a chain of elementwise primitives into one node, evaluated in one pass.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "xtape/shape.hpp"
#include "xtape/tape.hpp"

namespace xtape {

namespace detail {
struct ElementwiseProgram;
struct ElementwiseBuilder;
}  // namespace detail

/// A value of an elementwise expression under construction: an input of `fuse`,
/// or a primitive applied to such values. Building one computes nothing; it
/// appends an instruction to the expression's program.
class ElementwiseExpr {
public:
    /// The type of the constants written with it.
    using value_type = double;

    /// A value of no expression, which every primitive rejects (room for one in an array).
    ElementwiseExpr() = default;

    /// The program this value belongs to.
    const std::shared_ptr<detail::ElementwiseProgram>& program() const { return program_; }
    /// Its slot in the program: an input's index, or inputs + the instruction's index.
    std::uint32_t slot() const { return slot_; }

private:
    ElementwiseExpr(std::shared_ptr<detail::ElementwiseProgram> program, std::uint32_t slot)
        : program_(std::move(program)), slot_(slot) {}
    friend struct detail::ElementwiseBuilder;

    std::shared_ptr<detail::ElementwiseProgram> program_;
    std::uint32_t slot_ = 0;
};

/// The primitives an elementwise expression may use: each has the meaning (and
/// the derivative) of the op of ops.hpp with the same name. Scalars are rounded
/// to the evaluation's type, as those ops' scalar arguments are. Combining values
/// of two different expressions throws ValueError; so do the scalar arguments
/// the ops reject (smooth_l1's rho <= 0, clip's lo > hi).
ElementwiseExpr add(const ElementwiseExpr& a, const ElementwiseExpr& b);
ElementwiseExpr sub(const ElementwiseExpr& a, const ElementwiseExpr& b);
ElementwiseExpr mul(const ElementwiseExpr& a, const ElementwiseExpr& b);
ElementwiseExpr div(const ElementwiseExpr& a, const ElementwiseExpr& b);
ElementwiseExpr maximum(const ElementwiseExpr& a, const ElementwiseExpr& b);
ElementwiseExpr minimum(const ElementwiseExpr& a, const ElementwiseExpr& b);
ElementwiseExpr pow(const ElementwiseExpr& a, const ElementwiseExpr& b);
ElementwiseExpr add(const ElementwiseExpr& a, double s);
ElementwiseExpr mul(const ElementwiseExpr& a, double s);
ElementwiseExpr div(const ElementwiseExpr& a, double s);
ElementwiseExpr rsub(double s, const ElementwiseExpr& a);
ElementwiseExpr rdiv(double s, const ElementwiseExpr& a);
ElementwiseExpr maximum(const ElementwiseExpr& a, double s);
ElementwiseExpr minimum(const ElementwiseExpr& a, double s);
ElementwiseExpr pow(const ElementwiseExpr& a, double p);
ElementwiseExpr neg(const ElementwiseExpr& a);
ElementwiseExpr exp(const ElementwiseExpr& a);
ElementwiseExpr log(const ElementwiseExpr& a);
ElementwiseExpr log1p(const ElementwiseExpr& a);
ElementwiseExpr sqrt(const ElementwiseExpr& a);
ElementwiseExpr square(const ElementwiseExpr& a);
ElementwiseExpr abs(const ElementwiseExpr& a);
ElementwiseExpr relu(const ElementwiseExpr& a);
ElementwiseExpr sigmoid(const ElementwiseExpr& a);
ElementwiseExpr tanh(const ElementwiseExpr& a);
ElementwiseExpr softplus(const ElementwiseExpr& a);
ElementwiseExpr smooth_l1(const ElementwiseExpr& a, double rho);
ElementwiseExpr clip(const ElementwiseExpr& a, double lo, double hi);
ElementwiseExpr log_sigmoid(const ElementwiseExpr& a);
ElementwiseExpr sin(const ElementwiseExpr& a);
ElementwiseExpr cos(const ElementwiseExpr& a);
ElementwiseExpr erf(const ElementwiseExpr& a);
ElementwiseExpr normal_cdf(const ElementwiseExpr& a);
ElementwiseExpr gelu(const ElementwiseExpr& a);
ElementwiseExpr leaky_relu(const ElementwiseExpr& a, double slope = 0.01);
ElementwiseExpr elu(const ElementwiseExpr& a, double alpha = 1);
/// The piecewise-constant functions (no gradient) that derivatives are made of.
ElementwiseExpr sign(const ElementwiseExpr& a);
ElementwiseExpr step(const ElementwiseExpr& a);
ElementwiseExpr ge(const ElementwiseExpr& a, const ElementwiseExpr& b);
ElementwiseExpr le(const ElementwiseExpr& a, const ElementwiseExpr& b);
ElementwiseExpr ge(const ElementwiseExpr& a, double s);
ElementwiseExpr le(const ElementwiseExpr& a, double s);
ElementwiseExpr inside(const ElementwiseExpr& a, double lo, double hi);
ElementwiseExpr leaky_slope(const ElementwiseExpr& a, double slope);
/// elu's derivative (differentiable: its own derivative is itself minus step).
ElementwiseExpr elu_slope(const ElementwiseExpr& a, double alpha);

/// Builds an elementwise expression of its inputs.
using ElementwiseFn = std::function<ElementwiseExpr(std::span<const ElementwiseExpr> inputs)>;

/// y = expression(inputs), of input 0's shape, recorded as one node
/// "fuse" instead of one per primitive. The forward evaluates the whole chain
/// on a tile of elements at a time, so that the intermediates stay in the L1
/// cache: one pass over memory instead of one per primitive. The backward is
/// the reverse sweep of the same primitives over each tile, with their own
/// derivatives (recomputing only the intermediates a derivative reads), and
/// writes each input's gradient once. Values equal those of the same primitives
/// applied one by one; gradients equal theirs up to the order in which the
/// contributions of an input used twice are added.
/// An input after the first may also hold one value per row: input 0's shape
/// with trailing axes of extent 1, such as a per-sample factor of shape (N, 1)
/// for inputs of shape (N, C). Each tile reads it expanded, never broadcast in
/// memory, and its gradient is summed over each row.
/// Throws ShapeError naming "fuse" for an input of any other shape, ValueError
/// when there are no inputs or the expression returns a value it did not build.
template <class T>
Var<T> fuse(std::span<const Var<T>> inputs, const ElementwiseFn& expression);

/// sum(fuse(inputs, expression), axes), in one pass when the reduced axes
/// hold contiguous rows (the trailing axes, the usual case): each tile of the
/// expression is summed while it is in cache, so the elementwise result is
/// never stored. When gradients are enabled and an input wants one, the same
/// pass also computes each row's gradient d out_r / d input (seed 1), kept by
/// the node until its backward, which scales row r by g_r (not at all when
/// every g_r is 1) and hands the rows over; a second backward sweeps the
/// expression again. Otherwise it is that composition. Values equal the
/// composition's up to the order of addition in rows longer than a tile, and
/// gradients up to rounding (g is applied last); errors as fuse's (the op
/// named "fuse_sum"), and sum's for bad axes.
template <class T>
Var<T> fuse_sum(std::span<const Var<T>> inputs, const ElementwiseFn& expression, const Axes& axes = {});

/// mean(fuse(inputs, expression), axes), as fuse_sum (the op named "fuse_mean").
template <class T>
Var<T> fuse_mean(std::span<const Var<T>> inputs, const ElementwiseFn& expression, const Axes& axes = {});

/// fuse, fuse_sum and fuse_mean for a braced list: `fuse({x, y}, [](auto v) { return softplus(v[0]) - v[0] * v[1]; })`.
template <class T>
Var<T> fuse(std::initializer_list<Var<T>> inputs, const ElementwiseFn& expression) {
    return fuse(std::span<const Var<T>>(inputs.begin(), inputs.size()), expression);
}
template <class T>
Var<T> fuse_sum(std::initializer_list<Var<T>> inputs, const ElementwiseFn& expression, const Axes& axes = {}) {
    return fuse_sum(std::span<const Var<T>>(inputs.begin(), inputs.size()), expression, axes);
}
template <class T>
Var<T> fuse_mean(std::initializer_list<Var<T>> inputs, const ElementwiseFn& expression, const Axes& axes = {}) {
    return fuse_mean(std::span<const Var<T>>(inputs.begin(), inputs.size()), expression, axes);
}

inline ElementwiseExpr operator+(const ElementwiseExpr& a, const ElementwiseExpr& b) { return add(a, b); }
inline ElementwiseExpr operator-(const ElementwiseExpr& a, const ElementwiseExpr& b) { return sub(a, b); }
inline ElementwiseExpr operator*(const ElementwiseExpr& a, const ElementwiseExpr& b) { return mul(a, b); }
inline ElementwiseExpr operator-(const ElementwiseExpr& a) { return neg(a); }
inline ElementwiseExpr operator+(const ElementwiseExpr& a, double s) { return add(a, s); }
inline ElementwiseExpr operator+(double s, const ElementwiseExpr& a) { return add(a, s); }
inline ElementwiseExpr operator-(const ElementwiseExpr& a, double s) { return add(a, -s); }
inline ElementwiseExpr operator-(double s, const ElementwiseExpr& a) { return rsub(s, a); }
inline ElementwiseExpr operator*(const ElementwiseExpr& a, double s) { return mul(a, s); }
inline ElementwiseExpr operator*(double s, const ElementwiseExpr& a) { return mul(a, s); }
inline ElementwiseExpr operator/(const ElementwiseExpr& a, const ElementwiseExpr& b) { return div(a, b); }
inline ElementwiseExpr operator/(const ElementwiseExpr& a, double s) { return div(a, s); }
inline ElementwiseExpr operator/(double s, const ElementwiseExpr& a) { return rdiv(s, a); }

}  // namespace xtape
