// cosine_similarity: cos of the angle between rows, one pass each way.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "../kernels/reduction.hpp"
#include "xtape/detail/op_support.hpp"
#include "xtape/errors.hpp"
#include "xtape/fuse.hpp"
#include "xtape/ops.hpp"

namespace xtape {

using detail::tape_of;

namespace {

// kx x + ky y for a fused node of (x, y, kx, ky), kx and ky one value per row.
constexpr auto combine = [](auto v) { return v[2] * v[0] + v[3] * v[1]; };

// The row sums a.a, a.b and b.b, of shape (3, rows...), that cosine_similarity's
// forward computed: one node valued with them (no pass over a and b), the
// statistics of its create_graph backward. Its gradient is
// 2 g_aa a + g_ab b for a and g_ab a + 2 g_bb b for b.
template <class T>
Var<T> similarity_sums(const Var<T>& a, const Var<T>& b, xt::xarray<T> sums) {
    Tape<T>& tape = tape_of(a, b, "cosine_similarity");
    return tape.record("similarity_sums", {a, b}, std::move(sums), [](GradContext<T>& c) {
        const std::size_t n = c.input(0).shape().back();
        const std::size_t rows = c.grad().size() / 3;
        const T* const g_aa = c.grad().data();
        const T* const g_ab = g_aa + rows;
        const T* const g_bb = g_ab + rows;
        xt::xarray<T> doubled = c.buffer(Shape{2, rows});
        for (std::size_t r = 0; r < rows; ++r) {
            doubled.flat(r) = 2 * g_aa[r];
            doubled.flat(rows + r) = 2 * g_bb[r];
        }
        const T* a = c.input(0).data();
        const T* b = c.input(1).data();
        if (c.needs_grad(0)) {
            xt::xarray<T> da = c.buffer(c.input(0).shape());
            kernels::combine_rows(doubled.data(), a, g_ab, b, rows, n, da.data());
            c.accumulate(0, std::move(da));
        }
        if (c.needs_grad(1)) {
            xt::xarray<T> db = c.buffer(c.input(1).shape());
            kernels::combine_rows(g_ab, a, doubled.data() + rows, b, rows, n, db.data());
            c.accumulate(1, std::move(db));
        }
    }, [](VarGradContext<T>& c) {
        const Var<T> a = c.input(0);
        const Var<T> b = c.input(1);
        Shape kept = a.shape();
        kept.back() = 1;
        const auto g = [&](std::size_t i) { return reshape(slice(c.grad(), 0, i, i + 1), kept); };
        if (c.needs_grad(0)) c.accumulate(0, fuse({a, b, g(0) * 2.0, g(1)}, combine));
        if (c.needs_grad(1)) c.accumulate(1, fuse({a, b, g(1), g(2) * 2.0}, combine));
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
    }, [rows, eps_squared, sums = aa](VarGradContext<T>& c) {
        // The first-order rule as variables: with p = aa bb, q = max(p, eps^2)
        // (p wins ties; its mask is constant, as max's derivative is), d =
        // sqrt(q) and k = g ab / (d q) where p holds q (else 0),
        // d cos / d a = (g / d) b - (k bb) a and d cos / d b = (g / d) a - (k aa) b:
        // one fused node each, of the two inputs and two values per row. The
        // row sums are the forward's (similarity_sums).
        Tape<T>& tape = c.tape();
        const Var<T> a = c.input(0);
        const Var<T> b = c.input(1);
        Shape all_sums{3};
        all_sums.insert(all_sums.end(), a.shape().begin(), a.shape().end() - 1);
        xt::xarray<T> value = tape.buffer(all_sums);
        std::copy_n(sums, 3 * rows, value.data());
        const Var<T> row_sums = similarity_sums(a, b, std::move(value));
        Shape kept = a.shape();
        kept.back() = 1;
        const auto row_sum = [&](std::size_t i) { return reshape(slice(row_sums, 0, i, i + 1), kept); };
        const Var<T> aa = row_sum(0);
        const Var<T> ab = row_sum(1);
        const Var<T> bb = row_sum(2);
        const Var<T> p = aa * bb;
        const Var<T> q = maximum(p, eps_squared);  // eps^2 also where p is NaN, as the first order
        const Mask unclamped = p.value() >= eps_squared;
        const Var<T> d = sqrt(q);
        const Var<T> g = reshape(c.grad(), p.shape());
        const Var<T> to_other = g / d;
        const Var<T> k = where(unclamped, g * ab / (d * q), tape.constant(xt::zeros<T>(p.shape())));
        if (c.needs_grad(0)) c.accumulate(0, fuse({a, b, -(k * bb), to_other}, combine));
        if (c.needs_grad(1)) c.accumulate(1, fuse({a, b, to_other, -(k * aa)}, combine));
    });
}

template Var<float> cosine_similarity(const Var<float>&, const Var<float>&, float);
template Var<double> cosine_similarity(const Var<double>&, const Var<double>&, double);

}  // namespace xtape
