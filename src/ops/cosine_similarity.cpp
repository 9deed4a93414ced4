// cosine_similarity: cos of the angle between rows, one pass each way.
#include <cmath>

#include <fmt/format.h>

#include "../kernels/reduction.hpp"
#include "xtape/detail/op_support.hpp"
#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "differentiable.hpp"

namespace xtape {

using detail::tape_of;

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
    // ab / max(|a| |b|, eps), as ab / sqrt(max(aa bb, eps^2)): sqrt never sees
    // 0, so zero rows get a finite gradient (b / eps) rather than 0 * inf.
    const T eps_squared = eps * eps;
    xt::xarray<T> out = tape.buffer(rows_shape);
    for (std::size_t r = 0; r < rows; ++r) {
        const T p = aa[r] * bb[r];
        out.flat(r) = ab[r] / std::sqrt(p > eps_squared ? p : eps_squared);
    }
    return tape.record("cosine_similarity", {a, b}, std::move(out), [n, rows, eps_squared, aa](GradContext<T>& c) {
        // With d = sqrt(max(aa bb, eps^2)): d cos / d a = b / d + 2 (dp bb) a, where
        // dp = d cos / d(aa bb) = -(ab / d^2) / (2 d) while aa bb >= eps^2 (it
        // wins ties, as maximum does) and 0 where eps^2 holds the denominator.
        const T* const ab = aa + rows;
        const T* const bb = ab + rows;
        T* const to_b = aa + 3 * rows;
        T* const to_self_a = to_b + rows;
        T* const to_self_b = to_self_a + rows;
        for (std::size_t r = 0; r < rows; ++r) {
            const T g = c.grad().flat(r);
            const T p = aa[r] * bb[r];
            const bool clamped = !(p >= eps_squared);
            const T d = std::sqrt(clamped ? eps_squared : p);
            const T dp = clamped ? T(0) : -(g * ab[r] / (d * d)) / (2 * d);
            to_b[r] = g / d;
            to_self_a[r] = 2 * (dp * bb[r]);
            to_self_b[r] = 2 * (dp * aa[r]);
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
    }, [eps_squared](VarGradContext<T>& c) {
        detail::backward_by_recomposition(c, [eps_squared](std::span<const Var<T>> in) {
            const Var<T> p = dot(in[0], in[0], {-1}) * dot(in[1], in[1], {-1});
            return dot(in[0], in[1], {-1}) / sqrt(maximum(p, eps_squared));
        });
    });
}

template Var<float> cosine_similarity(const Var<float>&, const Var<float>&, float);
template Var<double> cosine_similarity(const Var<double>&, const Var<double>&, double);

}  // namespace xtape
