// The primitive ops: each records one node with its forward value and backward rule.
//
// Every op checks its arguments before xtensor sees them and throws a
// ShapeError or ValueError (both std::invalid_argument) naming the op, the
// argument and the shapes. Elementwise binary ops broadcast as NumPy does; the
// gradient is summed back to each input's shape centrally (GradContext::accumulate).
// All ops are defined in src/ops/ for T = float and double.
#pragma once

#include <concepts>
#include <type_traits>
#include <vector>

#include "xtape/data/random.hpp"
#include "xtape/tape.hpp"

namespace xtape {

// ---- elementwise, binary (NumPy broadcasting) -------------------------------

/// a + b
template <class T> Var<T> add(const Var<T>& a, const Var<T>& b);
/// a - b
template <class T> Var<T> sub(const Var<T>& a, const Var<T>& b);
/// a * b
template <class T> Var<T> mul(const Var<T>& a, const Var<T>& b);
/// a / b (IEEE: b = 0 gives inf or NaN, not an error)
template <class T> Var<T> div(const Var<T>& a, const Var<T>& b);
/// max(a, b); at a tie the gradient goes to a.
template <class T> Var<T> maximum(const Var<T>& a, const Var<T>& b);
/// min(a, b); at a tie the gradient goes to a.
template <class T> Var<T> minimum(const Var<T>& a, const Var<T>& b);
/// a^b with a variable exponent; d/da = b a^(b-1), d/db = a^b log(a) (NaN where a <= 0).
template <class T> Var<T> pow(const Var<T>& a, const Var<T>& b);

// Scalar forms: one node, the scalar is not a variable. The scalar takes no
// part in deducing T, so `maximum(x, 0.0)` works for a float x as well.
template <class T> Var<T> add(const Var<T>& a, std::type_identity_t<T> s);
template <class T> Var<T> mul(const Var<T>& a, std::type_identity_t<T> s);
/// s - a
template <class T> Var<T> rsub(std::type_identity_t<T> s, const Var<T>& a);
/// a / s
template <class T> Var<T> div(const Var<T>& a, std::type_identity_t<T> s);
/// s / a
template <class T> Var<T> rdiv(std::type_identity_t<T> s, const Var<T>& a);
/// max(a, s); at a tie the gradient goes to a.
template <class T> Var<T> maximum(const Var<T>& a, std::type_identity_t<T> s);
/// min(a, s); at a tie the gradient goes to a.
template <class T> Var<T> minimum(const Var<T>& a, std::type_identity_t<T> s);

// ---- elementwise, unary -----------------------------------------------------

/// -a
template <class T> Var<T> neg(const Var<T>& a);
/// exp(a)
template <class T> Var<T> exp(const Var<T>& a);
/// log(a); d/da = 1/a
template <class T> Var<T> log(const Var<T>& a);
/// log(1 + a), accurate near 0
template <class T> Var<T> log1p(const Var<T>& a);
/// sqrt(a); d/da = 1/(2 sqrt(a))
template <class T> Var<T> sqrt(const Var<T>& a);
/// a^2
template <class T> Var<T> square(const Var<T>& a);
/// a^p for a scalar p; d/da = p a^(p-1)
template <class T> Var<T> pow(const Var<T>& a, std::type_identity_t<T> p);
/// |a|; the derivative at 0 is 0.
template <class T> Var<T> abs(const Var<T>& a);
/// max(a, 0); the derivative at 0 is 0.
template <class T> Var<T> relu(const Var<T>& a);
/// 1 / (1 + exp(-a)), stable for large |a|
template <class T> Var<T> sigmoid(const Var<T>& a);
/// tanh(a)
template <class T> Var<T> tanh(const Var<T>& a);
/// log(1 + exp(a)) = max(a,0) + log1p(exp(-|a|)); its derivative is sigmoid(a)
/// exactly (0.5 at 0), stable for |a| up to 1e4 and beyond.
template <class T> Var<T> softplus(const Var<T>& a);
/// The Huber function of threshold rho (MXNet's smooth_l1 with sigma^2 = 1/rho):
/// a^2 / (2 rho) where |a| <= rho, |a| - rho/2 beyond; d/da = clip(a / rho, -1, 1)
/// (a / rho at the seam, where the pieces meet with equal slopes).
/// Throws ValueError unless rho > 0.
template <class T> Var<T> smooth_l1(const Var<T>& a, std::type_identity_t<T> rho);
/// min(max(a, lo), hi); the gradient is 1 where lo <= a <= hi, else 0.
/// Throws ValueError when lo > hi.
template <class T> Var<T> clip(const Var<T>& a, std::type_identity_t<T> lo, std::type_identity_t<T> hi);
/// log(sigmoid(a)) = -softplus(-a), stable for large |a|; d/da = sigmoid(-a).
template <class T> Var<T> log_sigmoid(const Var<T>& a);
/// sin(a)
template <class T> Var<T> sin(const Var<T>& a);
/// cos(a)
template <class T> Var<T> cos(const Var<T>& a);
/// The error function; d/da = 2/sqrt(pi) exp(-a^2).
template <class T> Var<T> erf(const Var<T>& a);
/// The standard normal distribution function Phi(a) = (1 + erf(a/sqrt 2))/2
/// (accurate in the lower tail too); d/da = exp(-a^2/2)/sqrt(2 pi).
template <class T> Var<T> normal_cdf(const Var<T>& a);
/// The exact GELU, a Phi(a); d/da = Phi(a) + a Phi'(a).
template <class T> Var<T> gelu(const Var<T>& a);
/// a where a > 0, slope a elsewhere; the derivative at 0 is slope.
template <class T> Var<T> leaky_relu(const Var<T>& a, std::type_identity_t<T> slope = std::type_identity_t<T>(0.01));
/// a where a > 0, alpha (exp(a) - 1) elsewhere; d/da = 1 or alpha exp(a).
template <class T> Var<T> elu(const Var<T>& a, std::type_identity_t<T> alpha = std::type_identity_t<T>(1));
/// 1 where a > 0, -1 where a < 0, 0 at 0 and for NaN; no gradient (its derivative is 0).
template <class T> Var<T> sign(const Var<T>& a);

// ---- piecewise-constant masks (no gradient) ------------------------------------
// What derivatives at kinks multiply the incoming gradient by, so that a
// derivative written with them can be differentiated again (to 0 at the kink).

/// 1 where a > 0, else 0 (NaN included): relu's derivative.
template <class T> Var<T> step(const Var<T>& a);
/// 1 where a >= b, else 0 (NaN included), with broadcasting: maximum's derivative.
template <class T> Var<T> ge(const Var<T>& a, const Var<T>& b);
/// 1 where a <= b, else 0 (NaN included), with broadcasting: minimum's derivative.
template <class T> Var<T> le(const Var<T>& a, const Var<T>& b);
/// 1 where a >= s, else 0.
template <class T> Var<T> ge(const Var<T>& a, std::type_identity_t<T> s);
/// 1 where a <= s, else 0.
template <class T> Var<T> le(const Var<T>& a, std::type_identity_t<T> s);
/// 1 where lo <= a <= hi, else 0: clip's derivative.
template <class T> Var<T> inside(const Var<T>& a, std::type_identity_t<T> lo, std::type_identity_t<T> hi);
/// 1 where a > 0, else slope: leaky_relu's derivative.
template <class T> Var<T> leaky_slope(const Var<T>& a, std::type_identity_t<T> slope);
/// 1 where a > 0, else alpha exp(a): elu's derivative (not a mask: its own
/// derivative is itself minus step(a)).
template <class T> Var<T> elu_slope(const Var<T>& a, std::type_identity_t<T> alpha);

/// mask ? a : b, broadcasting mask, a and b together. The mask has no gradient.
template <class T> Var<T> where(const Mask& mask, const Var<T>& a, const Var<T>& b);

namespace detail {
template <class V> struct var_element {};
template <class T> struct var_element<Var<T>> { using type = T; };
/// A Var<T> of any T, possibly const or a reference.
template <class V> concept a_var = requires { typename var_element<std::remove_cvref_t<V>>::type; };
}  // namespace detail

/// The same `where`, for the call written unqualified with `using namespace
/// xtape`: the mask's type brings in xt::where by argument-dependent lookup, an
/// unconstrained template of three forwarding references that binds non-const
/// arguments better than the declaration above. This one has the same form and a
/// constraint, so C++20's partial ordering prefers it, and it calls the one above.
template <class M, class A, class B>
    requires detail::a_var<A> && std::same_as<std::remove_cvref_t<A>, std::remove_cvref_t<B>> &&
             std::convertible_to<M, const Mask&>
auto where(M&& mask, A&& a, B&& b) {
    using T = typename detail::var_element<std::remove_cvref_t<A>>::type;
    return xtape::where<T>(mask, a, b);
}

// ---- reductions over a set of axes (empty Axes = every axis) -----------------

/// Sum over `axes`; keepdims keeps them with size 1.
template <class T> Var<T> sum(const Var<T>& a, const Axes& axes = {}, bool keepdims = false);
/// Mean over `axes`. Throws ShapeError when a reduced axis has size 0.
template <class T> Var<T> mean(const Var<T>& a, const Axes& axes = {}, bool keepdims = false);
/// Max over `axes`; the gradient goes to the first maximal element of each slice.
/// Throws ShapeError when a reduced axis has size 0.
template <class T> Var<T> max(const Var<T>& a, const Axes& axes = {}, bool keepdims = false);
/// sum(a * b) over `axes` for a and b of one shape, in one pass without the
/// product array (row-wise dot products for the last axis). Throws ShapeError
/// when the shapes differ.
template <class T>
Var<T> dot(const Var<T>& a, const Var<T>& b, const Axes& axes = {}, bool keepdims = false);
/// Min over `axes`, as -max(-a): the gradient goes to the first minimal element
/// of each slice. Throws ShapeError when a reduced axis has size 0.
template <class T> Var<T> min(const Var<T>& a, const Axes& axes = {}, bool keepdims = false);
/// Product over `axes` (1 for an empty slice); d/da_i is the product of the
/// slice's other elements, exact where the slice holds zeros.
template <class T> Var<T> prod(const Var<T>& a, const Axes& axes = {}, bool keepdims = false);
/// sum((a - mean)^2) / (n - ddof) over `axes`, n elements per slice. Throws
/// ValueError when n <= ddof.
template <class T>
Var<T> variance(const Var<T>& a, const Axes& axes = {}, bool keepdims = false, std::size_t ddof = 0);
/// sqrt(variance(a, axes, keepdims, ddof)); its gradient is NaN where the
/// variance is 0 (as PyTorch's std).
template <class T>
Var<T> stddev(const Var<T>& a, const Axes& axes = {}, bool keepdims = false, std::size_t ddof = 0);
/// The p-norm over `axes`: (sum |a|^p)^(1/p) for p >= 1, max |a| for p =
/// infinity. Its gradient at a slice of zeros is 0 (PyTorch's choice). Throws
/// ValueError for p < 1 or NaN.
template <class T>
Var<T> norm(const Var<T>& a, double p = 2, const Axes& axes = {}, bool keepdims = false);
/// log(sum(exp(a))) over `axes`, stable (shifted by the max); its gradient is
/// softmax. A slice of all -inf gives -inf with zero gradient.
template <class T> Var<T> logsumexp(const Var<T>& a, const Axes& axes = {}, bool keepdims = false);

// ---- shape -------------------------------------------------------------------

/// The same elements in a new shape of equal size (row-major order).
template <class T> Var<T> reshape(const Var<T>& a, const Shape& shape);
/// Permutes the axes: output axis i is input axis perm[i]; an empty perm reverses.
template <class T> Var<T> transpose(const Var<T>& a, const Axes& perm = {});
/// Exchanges two axes.
template <class T> Var<T> swapaxes(const Var<T>& a, std::ptrdiff_t axis1, std::ptrdiff_t axis2);
/// Broadcasts to `shape` (NumPy rules); the gradient is summed back.
template <class T> Var<T> broadcast_to(const Var<T>& a, const Shape& shape);
/// Elements start, start+step, ... < stop along `axis` (0 <= start <= stop <= size,
/// step >= 1).
template <class T>
Var<T> slice(const Var<T>& a, std::ptrdiff_t axis, std::size_t start, std::size_t stop,
             std::size_t step = 1);
/// Joins arrays along an existing axis; the other axes must agree.
template <class T> Var<T> concat(const std::vector<Var<T>>& parts, std::ptrdiff_t axis);
/// Joins arrays of equal shape along a new axis.
template <class T> Var<T> stack(const std::vector<Var<T>>& parts, std::ptrdiff_t axis);
/// Along `axis`, out[..., j, ...] = a[..., index[..., j, ...], ...] (NumPy's
/// take_along_axis): `index` has a's rank and a's shape except along `axis`.
/// The gradient is scattered back (added where an element is taken twice).
/// Throws ShapeError on a wrong index shape, ValueError naming the offending
/// index and its position when one is outside [0, size of axis).
template <class T> Var<T> gather(const Var<T>& a, const IndexArray& index, std::ptrdiff_t axis);
/// gather with indices held as whole numbers in a variable (no gradient flows
/// into it); throws ValueError when one is not a whole number.
template <class T> Var<T> gather(const Var<T>& a, const Var<T>& index, std::ptrdiff_t axis);
/// One element per slice along `axis` (MXNet's pick):
/// out[..., ...] = a[..., index[..., ...], ...]. `index` has a's shape without
/// `axis`, or with `axis` of size 1; the result keeps `axis` with size 1 when
/// keepdims. Throws ShapeError on a wrong index shape, ValueError naming the
/// offending index and its position when one is outside [0, size of axis).
template <class T>
Var<T> pick(const Var<T>& a, const IndexArray& index, std::ptrdiff_t axis, bool keepdims = false);
/// pick with indices held as whole numbers in a variable (a sparse label; no
/// gradient flows into it); throws ValueError when one is not a whole number.
template <class T>
Var<T> pick(const Var<T>& a, const Var<T>& index, std::ptrdiff_t axis, bool keepdims = false);
/// The position of the first maximal element along `axis` (a NaN counts as the
/// largest, as in NumPy), of a's shape without `axis`. Not differentiable: it
/// returns indices, not a Var. Throws ShapeError for an empty axis.
template <class T> IndexArray argmax(const Var<T>& a, std::ptrdiff_t axis);
/// Rows of `depth` zeros with a 1 at each index (whole numbers in `indices`),
/// of shape indices' shape + (depth,): a constant. Throws ValueError for an
/// index outside [0, depth), one that is not a whole number, or depth 0.
template <class T> Var<T> one_hot(const Var<T>& indices, std::size_t depth);
/// The whole numbers in `values` as indices. Throws ValueError naming `op`, the
/// value and its position when one is not a whole number (or not finite).
template <class T> IndexArray to_indices(const xt::xarray<T>& values, const char* op);

// ---- neural network ------------------------------------------------------------

/// a - logsumexp(a, axis), one fused and stable op; its gradient is
/// g - softmax(a) * sum(g, axis).
template <class T> Var<T> log_softmax(const Var<T>& a, std::ptrdiff_t axis = -1);
/// exp(a - logsumexp(a, axis)), stable.
template <class T> Var<T> softmax(const Var<T>& a, std::ptrdiff_t axis = -1);
/// The cosine of the angle between a and b along their last axis:
/// sum(a * b) / max(|a| |b|, eps), of a's shape without the last axis (Gluon's
/// cosine similarity); a zero row gives 0 with the finite gradient b / eps.
/// One pass over a and b each way. Throws ShapeError when the shapes differ
/// or are 0-d, ValueError for an eps that is negative or not finite.
template <class T>
Var<T> cosine_similarity(const Var<T>& a, const Var<T>& b, std::type_identity_t<T> eps = 1e-12);
/// (a - mean) / sqrt(variance + eps) over `axes` (the last by default), as
/// composed from mean, variance and sqrt; no scale or shift (a layer adds
/// them). Throws ValueError for an eps that is negative or not finite.
template <class T>
Var<T> layer_norm(const Var<T>& a, const Axes& axes = {-1}, std::type_identity_t<T> eps = 1e-5);
/// Inverted dropout: while training, each element is zeroed with probability
/// p (drawn from rng) and the others scaled by 1/(1 - p); otherwise, and for
/// p = 0, a itself. Throws ValueError unless 0 <= p < 1.
template <class T> Var<T> dropout(const Var<T>& a, double p, Rng& rng, bool training = true);
/// Matrix product of (m, k) and (k, n), or batched (..., m, k) x (..., k, n)
/// with equal batch shapes. Throws ShapeError on mismatched inner sizes.
template <class T> Var<T> matmul(const Var<T>& a, const Var<T>& b);

// ---- operators -------------------------------------------------------------------

template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }
template <class T> Var<T> operator-(const Var<T>& a) { return neg(a); }
template <class T> Var<T> operator+(const Var<T>& a, std::type_identity_t<T> s) { return add(a, s); }
template <class T> Var<T> operator+(std::type_identity_t<T> s, const Var<T>& a) { return add(a, s); }
template <class T> Var<T> operator-(const Var<T>& a, std::type_identity_t<T> s) { return add(a, -s); }
template <class T> Var<T> operator-(std::type_identity_t<T> s, const Var<T>& a) { return rsub(s, a); }
template <class T> Var<T> operator*(const Var<T>& a, std::type_identity_t<T> s) { return mul(a, s); }
template <class T> Var<T> operator*(std::type_identity_t<T> s, const Var<T>& a) { return mul(a, s); }
template <class T> Var<T> operator/(const Var<T>& a, std::type_identity_t<T> s) { return div(a, s); }
template <class T> Var<T> operator/(std::type_identity_t<T> s, const Var<T>& a) { return rdiv(s, a); }

}  // namespace xtape
