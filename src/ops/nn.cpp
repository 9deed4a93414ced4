// Neural-network ops: log_softmax and softmax (fused and stable, SIMD over contiguous rows), matmul.
#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "../kernels/axis_layout.hpp"
#include "../kernels/simd_loop.hpp"
#include "xtape/detail/op_support.hpp"
#include "xtape/ops.hpp"

namespace xtape {

using detail::tape_of;

namespace {

// `shape` with `axis` kept as size 1: the shape of a per-slice quantity that
// broadcasts back over the slice.
Shape kept_shape(const Shape& shape, std::size_t axis) {
    Shape kept = shape;
    kept[axis] = 1;
    return kept;
}

// a - max(a) along `axis`, the max taken as 0 for a slice without a finite
// element (so that an all -inf slice does not make -inf - -inf = NaN).
template <class T>
xt::xarray<T> shifted_by_max(const xt::xarray<T>& a, std::size_t axis) {
    xt::xarray<T> m = xt::amax(a, {axis});
    m.reshape(kept_shape(a.shape(), axis));
    return a - xt::where(xt::isfinite(m), m, T(0));
}

// The sum of g along `axis`, kept as size 1.
template <class T, class E>
xt::xarray<T> sum_along(E&& g, const Shape& shape, std::size_t axis) {
    xt::xarray<T> s = xt::sum(std::forward<E>(g), {axis});
    s.reshape(kept_shape(shape, axis));
    return s;
}


// The max of a row, taken as 0 when it is not finite: the shift of the stable
// softmax, as shifted_by_max makes it (an all -inf row does not give -inf - -inf).
template <class T>
T row_shift(const T* x, std::size_t n) {
    using B = kernels::Batch<T>;
    constexpr std::size_t width = B::size;
    T m = -std::numeric_limits<T>::infinity();
    std::size_t i = 0;
    if (n >= width) {
        B best = B::load_unaligned(x);
        for (i = width; i + width <= n; i += width) best = xsimd::max(best, B::load_unaligned(x + i));
        alignas(64) T lanes[width];
        best.store_aligned(lanes);
        for (T v : lanes) m = std::max(m, v);
    }
    for (; i < n; ++i) m = std::max(m, x[i]);
    return std::isfinite(m) ? m : T(0);
}

// Forward of log_softmax over contiguous rows shorter than a SIMD batch (a few
// classes): each row would go through the padded tail twice, so the exps of the
// whole block run as one flat pass and the per-row work is scalar.
template <class T>
void log_softmax_short_rows(const T* x, T* out, std::size_t rows, std::size_t n) {
    using B = kernels::Batch<T>;
    for (std::size_t r = 0; r < rows; ++r) {
        const T m = row_shift(x + r * n, n);
        for (std::size_t j = r * n; j < (r + 1) * n; ++j) out[j] = x[j] - m;
    }
    kernels::map(rows * n, out, [](B z) { return xsimd::exp(z); }, out);
    for (std::size_t r = 0; r < rows; ++r) {
        T total = 0;
        for (std::size_t j = r * n; j < (r + 1) * n; ++j) total += out[j];
        const T log_total = std::log(total);
        // The shift is found again rather than kept: out held the exps, and a
        // few compares per row cost less than a scratch array.
        const T m = row_shift(x + r * n, n);
        for (std::size_t j = r * n; j < (r + 1) * n; ++j) out[j] = (x[j] - m) - log_total;
    }
}

// Forward of log_softmax over contiguous rows: out = (x - m) - log(sum(exp(x - m))).
template <class T>
void log_softmax_rows(const T* x, T* out, std::size_t rows, std::size_t n) {
    using B = kernels::Batch<T>;
    if (n < B::size) return log_softmax_short_rows(x, out, rows, n);
    for (std::size_t r = 0; r < rows; ++r, x += n, out += n) {
        const B m(row_shift(x, n));
        const B log_total(std::log(kernels::map_sum<T>(n, [m](B v) { return xsimd::exp(v - m); }, x)));
        kernels::map(n, out, [m, log_total](B v) { return (v - m) - log_total; }, x);
    }
}

// Backward of log_softmax over contiguous rows: dx = g - exp(out) * sum(g).
// Rows shorter than a SIMD batch take one flat pass for the exps, as forward.
template <class T>
void log_softmax_grad_rows(const T* g, const T* out, T* dx, std::size_t rows, std::size_t n) {
    using B = kernels::Batch<T>;
    if (n < B::size) {
        kernels::map(rows * n, dx, [](B o) { return xsimd::exp(o); }, out);
        for (std::size_t r = 0; r < rows; ++r) {
            T total = 0;
            for (std::size_t j = r * n; j < (r + 1) * n; ++j) total += g[j];
            for (std::size_t j = r * n; j < (r + 1) * n; ++j) dx[j] = g[j] - dx[j] * total;
        }
        return;
    }
    for (std::size_t r = 0; r < rows; ++r, g += n, out += n, dx += n) {
        const B total(kernels::map_sum<T>(n, [](B v) { return v; }, g));
        kernels::map(n, dx, [total](B gv, B o) { return gv - xsimd::exp(o) * total; }, g, out);
    }
}

// Forward of softmax over contiguous rows: y = exp(x - m) / sum(exp(x - m)).
template <class T>
void softmax_rows(const T* x, T* y, std::size_t rows, std::size_t n) {
    using B = kernels::Batch<T>;
    for (std::size_t r = 0; r < rows; ++r, x += n, y += n) {
        const B m(row_shift(x, n));
        kernels::map(n, y, [m](B v) { return xsimd::exp(v - m); }, x);
        const B total(kernels::map_sum<T>(n, [](B v) { return v; }, y));
        kernels::map(n, y, [total](B v) { return v / total; }, y);
    }
}

// Backward of softmax over contiguous rows: dx = y * (g - sum(g * y)).
template <class T>
void softmax_grad_rows(const T* g, const T* y, T* dx, std::size_t rows, std::size_t n) {
    using B = kernels::Batch<T>;
    for (std::size_t r = 0; r < rows; ++r, g += n, y += n, dx += n) {
        const B total(kernels::map_sum<T>(n, [](B gv, B yv) { return gv * yv; }, g, y));
        kernels::map(n, dx, [total](B gv, B yv) { return yv * (gv - total); }, g, y);
    }
}

}  // namespace

template <class T>
Var<T> log_softmax(const Var<T>& a, std::ptrdiff_t axis) {
    Tape<T>& tape = tape_of(a, "log_softmax");
    const std::size_t ax = normalize_axis(axis, a.dimension(), "log_softmax");
    const kernels::AxisLayout rows(a.shape(), ax);
    xt::xarray<T> out;
    if (a.size() == 0) {
        out = a.value();
    } else if (rows.contiguous_rows()) {
        out = tape.buffer(a.shape());
        log_softmax_rows(a.value().data(), out.data(), rows.outer, rows.n);
    } else {
        // log_softmax(a) = z - log(sum(exp(z))) with z = a - max(a): exp(z) <= 1.
        out = shifted_by_max(a.value(), ax);
        out -= xt::log(sum_along<T>(xt::exp(out), out.shape(), ax));
    }
    return tape.record("log_softmax", {a}, std::move(out), [ax, rows](GradContext<T>& c) {
        // d/da: g - softmax(a) * sum(g, axis), with softmax(a) = exp(log_softmax(a))
        const auto& g = c.grad();
        if (rows.contiguous_rows()) {
            xt::xarray<T> dx = c.buffer(g.shape());
            log_softmax_grad_rows(g.data(), c.value().data(), dx.data(), rows.outer, rows.n);
            c.accumulate(0, std::move(dx));
        } else {
            c.accumulate(0, g - xt::exp(c.value()) * sum_along<T>(g, g.shape(), ax));
        }
    });
}

template <class T>
Var<T> softmax(const Var<T>& a, std::ptrdiff_t axis) {
    Tape<T>& tape = tape_of(a, "softmax");
    const std::size_t ax = normalize_axis(axis, a.dimension(), "softmax");
    const kernels::AxisLayout rows(a.shape(), ax);
    xt::xarray<T> out;
    if (a.size() == 0) {
        out = a.value();
    } else if (rows.contiguous_rows()) {
        out = tape.buffer(a.shape());
        softmax_rows(a.value().data(), out.data(), rows.outer, rows.n);
    } else {
        out = xt::exp(shifted_by_max(a.value(), ax));
        out /= sum_along<T>(out, out.shape(), ax);
    }
    return tape.record("softmax", {a}, std::move(out), [ax, rows](GradContext<T>& c) {
        // d/da: y * (g - sum(g * y, axis)) with y = softmax(a)
        const auto& g = c.grad();
        const auto& y = c.value();
        if (rows.contiguous_rows()) {
            xt::xarray<T> dx = c.buffer(g.shape());
            softmax_grad_rows(g.data(), y.data(), dx.data(), rows.outer, rows.n);
            c.accumulate(0, std::move(dx));
        } else {
            c.accumulate(0, y * (g - sum_along<T>(g * y, g.shape(), ax)));
        }
    });
}

namespace {

// C[i] = op(A[i]) op(B[i]) for `batch` row-major matrices stored back to back,
// where op transposes when asked: op(A) is m x k, op(B) is k x n, C is m x n.
// BLAS transposes on the fly, so no transposed copy is made.
template <class T>
void gemm_batched(std::size_t batch, bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                  const T* a, const T* b, T* c) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        std::fill(c, c + batch * m * n, T(0));  // an empty sum; BLAS would reject lda = 0
        return;
    }
    using cxxblas::Transpose;
    const auto index = [](std::size_t v) { return static_cast<xt::blas_index_t>(v); };
    const auto op_a = trans_a ? Transpose::Trans : Transpose::NoTrans;
    const auto op_b = trans_b ? Transpose::Trans : Transpose::NoTrans;
    const std::size_t lda = trans_a ? m : k;
    const std::size_t ldb = trans_b ? k : n;
    for (std::size_t i = 0; i < batch; ++i) {
        cxxblas::gemm<xt::blas_index_t>(cxxblas::StorageOrder::RowMajor, op_a, op_b, index(m), index(n), index(k),
                                        T(1), a + i * m * k, index(lda), b + i * k * n, index(ldb), T(0),
                                        c + i * m * n, index(n));
    }
}

}  // namespace

template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
    Tape<T>& tape = tape_of(a, b, "matmul");
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    const std::size_t rank = sa.size();
    if (rank < 2 || sb.size() != rank || !std::equal(sa.begin(), sa.end() - 2, sb.begin()) ||
        sa[rank - 1] != sb[rank - 2]) {
        throw ShapeError(fmt::format("matmul: a of shape {} and b of shape {} do not multiply; need (m, k) x "
                                     "(k, n), or (..., m, k) x (..., k, n) with equal batch shapes",
                                     to_string(sa), to_string(sb)));
    }
    const std::size_t m = sa[rank - 2], k = sa[rank - 1], n = sb[rank - 1];
    for (std::size_t extent : {m, k, n}) {
        if (extent > static_cast<std::size_t>(INT_MAX)) {
            throw ShapeError(fmt::format("matmul: a of shape {} or b of shape {} exceeds BLAS's int sizes",
                                         to_string(sa), to_string(sb)));
        }
    }
    std::size_t batch = 1;
    for (std::size_t d = 0; d + 2 < rank; ++d) batch *= sa[d];
    Shape out_shape = sa;
    out_shape[rank - 1] = n;
    xt::xarray<T> out;
    if (rank == 2 && m * k * n != 0) {
        out = xt::linalg::dot(a.value(), b.value());
    } else {
        out = xt::empty<T>(out_shape);
        gemm_batched(batch, false, false, m, n, k, a.value().data(), b.value().data(), out.data());
    }
    return tape.record("matmul", {a, b}, std::move(out), [batch, m, k, n](GradContext<T>& c) {
        const auto& g = c.grad();
        if (c.needs_grad(0)) {  // dA = G B^T
            xt::xarray<T> da = xt::empty<T>(c.input(0).shape());
            gemm_batched(batch, false, true, m, k, n, g.data(), c.input(1).data(), da.data());
            c.accumulate(0, std::move(da));
        }
        if (c.needs_grad(1)) {  // dB = A^T G
            xt::xarray<T> db = xt::empty<T>(c.input(1).shape());
            gemm_batched(batch, true, false, k, n, m, c.input(0).data(), g.data(), db.data());
            c.accumulate(1, std::move(db));
        }
    });
}

#define XTAPE_INSTANTIATE(T)                                   \
    template Var<T> log_softmax(const Var<T>&, std::ptrdiff_t); \
    template Var<T> softmax(const Var<T>&, std::ptrdiff_t);     \
    template Var<T> matmul(const Var<T>&, const Var<T>&);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
