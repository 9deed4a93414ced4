// cosine_similarity: cos of the angle between rows, one pass each way.
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "../kernels/reduction.hpp"
#include "differentiable.hpp"
#include "xtape/detail/op_support.hpp"
#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

namespace xtape {

using detail::tape_of;

namespace {

// Row r's sums x.x, x.y and y.y, kept by the tape.
template <class T>
struct RowSums {
    const T* xx;
    const T* xy;
    const T* yy;
};

// A row's denominator: for p = xx yy, q = max(p, eps^2) (p wins ties; its mask
// is constant, as max's derivative is) and d = sqrt(q). sqrt never sees 0, so
// zero rows get a finite gradient (y / eps) rather than 0 * inf.
template <class T>
struct Denominator {
    bool unclamped;  // p holds q
    T q, d, dq;

    Denominator(T xx, T yy, T eps_squared) {
        const T p = xx * yy;
        unclamped = p >= eps_squared;  // false for a NaN p: eps^2 then, as maximum gives
        q = unclamped ? p : eps_squared;
        d = std::sqrt(q);
        dq = d * q;
    }

    /// d cos(x, y) / dx times g is alpha y + beta x: alpha = g / d, and
    /// beta = -g xy yy / (d q) where p holds q, else 0.
    T alpha(T g) const { return g / d; }
    T beta(T g, T xy, T yy) const { return unclamped ? -g * xy * yy / dq : T(0); }
};

// d cos(x, y) / dx times g, row by row (Denominator's alpha y + beta x). As
// primitives: the recomposition of cosine_gradient.
template <class T>
Var<T> composed_cosine_gradient(const Var<T>& x, const Var<T>& y, const Var<T>& g, T eps_squared) {
    const std::ptrdiff_t last = static_cast<std::ptrdiff_t>(x.dimension()) - 1;
    const Var<T> xx = sum(x * x, {last}, true);
    const Var<T> xy = sum(x * y, {last}, true);
    const Var<T> yy = sum(y * y, {last}, true);
    const Var<T> p = xx * yy;
    const Var<T> q = maximum(p, eps_squared);  // eps^2 also where p is NaN, as the first order
    const Mask unclamped = p.value() >= eps_squared;
    const Var<T> d = sqrt(q);
    const Var<T> per_row = reshape(g, p.shape());
    const Var<T> k = where(unclamped, per_row * xy / (d * q), x.tape().constant(xt::zeros<T>(p.shape())));
    return (per_row / d) * y - (k * yy) * x;
}

// The same as one node of (x, y, g), from the forward's row sums. Its backward
// for an incoming u needs only ux = u.x and uy = u.y per row: alpha and beta
// depend on x and y through xx, xy and yy, so
//   dx = beta u + 2 c_xx x + c_xy y,   dy = alpha u + c_xy x + 2 c_yy y,
//   dg = (alpha uy + beta ux) / g,
// with c_s = uy dalpha/ds + ux dbeta/ds for each sum s: one read of u, x and y
// (kernels::dots_then_combine_rows). Differentiated again, the composition.
template <class T>
Var<T> cosine_gradient(const Var<T>& x, const Var<T>& y, const Var<T>& g, RowSums<T> sums, T eps_squared) {
    Tape<T>& tape = x.tape();
    const std::size_t rows = g.size();
    const std::size_t n = x.shape().back();
    const auto denominator = [sums, eps_squared](std::size_t r) {
        return Denominator<T>(sums.xx[r], sums.yy[r], eps_squared);
    };
    xt::xarray<T> factors = tape.buffer(Shape{2, rows});  // beta, then alpha
    for (std::size_t r = 0; r < rows; ++r) {
        const Denominator den = denominator(r);
        const T gr = g.value().flat(r);
        factors.flat(r) = den.beta(gr, sums.xy[r], sums.yy[r]);
        factors.flat(rows + r) = den.alpha(gr);
    }
    xt::xarray<T> out = tape.buffer(x.shape());
    kernels::combine_rows(factors.data(), x.value().data(), factors.data() + rows, y.value().data(), rows, n,
                          out.data());
    return tape.record("cosine_similarity_gradient", {x, y, g}, std::move(out),
                       [rows, n, sums, denominator](GradContext<T>& c) {
        std::optional<xt::xarray<T>> dx, dy, dg;
        if (c.needs_grad(0)) dx = c.buffer(c.input(0).shape());
        if (c.needs_grad(1)) dy = c.buffer(c.input(1).shape());
        if (c.needs_grad(2)) dg = c.buffer(c.input(2).shape());
        const T* g = c.input(2).data();
        T* dg_rows = dg ? dg->data() : nullptr;
        kernels::dots_then_combine_rows<T>(
            c.grad().data(), c.input(0).data(), c.input(1).data(), rows, n,
            [&](std::size_t r, T ux, T uy) -> std::array<T, 6> {
                const Denominator den = denominator(r);
                const T alpha = den.alpha(g[r]);
                if (!den.unclamped) {  // alpha = g / eps, beta = 0: no dependence on the sums
                    if (dg_rows) dg_rows[r] = uy / den.d;
                    return {T(0), T(0), T(0), alpha, T(0), T(0)};
                }
                const T xx = sums.xx[r], xy = sums.xy[r], yy = sums.yy[r];
                const T beta_per_g = -xy * yy / den.dq;
                // With p = q: dalpha/dxx = -g yy / (2 d q), dalpha/dyy = -g xx / (2 d q),
                // dbeta/dxx = 3 g xy yy^2 / (2 d q^2), dbeta/dxy = -g yy / (d q), dbeta/dyy = g xy / (2 d q).
                const T gr = g[r];
                const T c_xx = (-uy * gr * yy + ux * 3 * gr * xy * yy * yy / den.q) / (2 * den.dq);
                const T c_xy = -ux * gr * yy / den.dq;
                const T c_yy = (-uy * gr * xx + ux * gr * xy) / (2 * den.dq);
                if (dg_rows) dg_rows[r] = uy / den.d + beta_per_g * ux;
                return {gr * beta_per_g, 2 * c_xx, c_xy, alpha, c_xy, 2 * c_yy};
            },
            dx ? dx->data() : nullptr, dy ? dy->data() : nullptr);
        if (dx) c.accumulate(0, std::move(*dx));
        if (dy) c.accumulate(1, std::move(*dy));
        if (dg) c.accumulate(2, std::move(*dg));
    }, [eps_squared](VarGradContext<T>& c) {
        detail::backward_by_recomposition(c, [eps_squared](std::span<const Var<T>> v) {
            return composed_cosine_gradient(v[0], v[1], v[2], eps_squared);
        });
    });
}

}  // namespace

template <class T>
Var<T> cosine_similarity(const Var<T>& a, const Var<T>& b, std::type_identity_t<T> eps) {
    Tape<T>& tape = tape_of(a, b, "cosine_similarity");
    if (a.shape() != b.shape() || a.dimension() == 0) {
        throw ShapeError(fmt::format("cosine_similarity: a of shape {} and b of shape {} must be one shape, with "
                                     "a last axis",
                                     to_string(a.shape()), to_string(b.shape())));
    }
    if (!(eps >= 0) || !std::isfinite(eps)) {
        throw ValueError(fmt::format("cosine_similarity: eps must be finite and at least 0, got {}", eps));
    }
    Shape rows_shape = a.shape();
    const std::size_t n = rows_shape.back();
    rows_shape.pop_back();
    const std::size_t rows = element_count(rows_shape);
    // Row r's sums of a*a, a*b and b*b, then room for the backward's three
    // factors per row: kept by the tape until clear(), so that neither pass allocates.
    T* const aa = tape.keep(tape.buffer(Shape{6, rows})).data();
    T* const ab = aa + rows;
    T* const bb = ab + rows;
    kernels::similarity_sums_rows(a.value().data(), b.value().data(), rows, n, aa, ab, bb);
    // ab / max(|a| |b|, eps), as ab / sqrt(max(aa bb, eps^2)) (Denominator).
    const T eps_squared = eps * eps;
    xt::xarray<T> out = tape.buffer(rows_shape);
    for (std::size_t r = 0; r < rows; ++r) out.flat(r) = ab[r] / Denominator<T>(aa[r], bb[r], eps_squared).d;
    return tape.record("cosine_similarity", {a, b}, std::move(out), [n, rows, eps_squared, aa](GradContext<T>& c) {
        // d cos / d a = alpha b + beta a, and b's the same with the roles swapped.
        const T* const ab = aa + rows;
        const T* const bb = ab + rows;
        T* const to_b = aa + 3 * rows;
        T* const to_self_a = to_b + rows;
        T* const to_self_b = to_self_a + rows;
        for (std::size_t r = 0; r < rows; ++r) {
            const T g = c.grad().flat(r);
            const Denominator den(aa[r], bb[r], eps_squared);
            to_b[r] = den.alpha(g);
            to_self_a[r] = den.beta(g, ab[r], bb[r]);
            to_self_b[r] = den.beta(g, ab[r], aa[r]);
        }
        const T* a = c.input(0).data();
        const T* b = c.input(1).data();
        if (c.needs_grad(0)) {
            xt::xarray<T> da = c.buffer(c.input(0).shape());
            kernels::combine_rows(to_self_a, a, to_b, b, rows, n, da.data());
            c.accumulate(0, std::move(da));
        }
        if (c.needs_grad(1)) {
            xt::xarray<T> db = c.buffer(c.input(1).shape());
            kernels::combine_rows(to_self_b, b, to_b, a, rows, n, db.data());
            c.accumulate(1, std::move(db));
        }
    }, [rows, eps_squared, aa](VarGradContext<T>& c) {
        // The first-order rule, one cosine_gradient node per input (cos is
        // symmetric: b's is a's with the roles swapped), over the forward's row sums.
        const T* const ab = aa + rows;
        const T* const bb = ab + rows;
        const Var<T> a = c.input(0);
        const Var<T> b = c.input(1);
        if (c.needs_grad(0)) c.accumulate(0, cosine_gradient(a, b, c.grad(), {aa, ab, bb}, eps_squared));
        if (c.needs_grad(1)) c.accumulate(1, cosine_gradient(b, a, c.grad(), {bb, ab, aa}, eps_squared));
    });
}

template Var<float> cosine_similarity(const Var<float>&, const Var<float>&, float);
template Var<double> cosine_similarity(const Var<double>&, const Var<double>&, double);

}  // namespace xtape
