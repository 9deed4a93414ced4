// Neural-network ops: log_softmax and softmax (fused and stable, SIMD over contiguous rows), matmul.
#include <algorithm>
#include <climits>
#include <optional>

#include <fmt/format.h>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "../kernels/axis_layout.hpp"
#include "../kernels/math.hpp"
#include "differentiable.hpp"
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

// g - exp(y) * sum(g) along `axis`: log_softmax's gradient for its output y, as primitives.
template <class T>
Var<T> composed_log_softmax_gradient(const Var<T>& y, const Var<T>& g, std::size_t axis) {
    return g - exp(y) * sum(g, {static_cast<std::ptrdiff_t>(axis)}, true);
}

// The same over contiguous rows as one node of (y, g): one pass, and a backward
// (d_y = -sum(g) p u and dg = u - p.u per row, p = exp(y)) with the row in the
// cache, where the composition takes a node and a pass for each of exp, sum,
// the product and the difference. Differentiated again, the composition.
template <class T>
Var<T> log_softmax_gradient_rows(const Var<T>& y, const Var<T>& g, std::size_t axis, kernels::AxisLayout rows) {
    Tape<T>& tape = y.tape();
    xt::xarray<T> out = tape.buffer(y.shape());
    kernels::math::log_softmax_grad_rows(g.value().data(), y.value().data(), out.data(), rows.outer, rows.n);
    return tape.record("log_softmax_gradient", {y, g}, std::move(out), [rows](GradContext<T>& c) {
        std::optional<xt::xarray<T>> dy, dg;
        if (c.needs_grad(0)) dy = c.buffer(c.input(0).shape());
        if (c.needs_grad(1)) dg = c.buffer(c.input(1).shape());
        kernels::math::log_softmax_grad_backward_rows(c.grad().data(), c.input(0).data(), c.input(1).data(),
                                                      rows.outer, rows.n, dy ? dy->data() : nullptr,
                                                      dg ? dg->data() : nullptr);
        if (dy) c.accumulate(0, std::move(*dy));
        if (dg) c.accumulate(1, std::move(*dg));
    }, [axis](VarGradContext<T>& c) {
        detail::backward_by_recomposition(c, [axis](std::span<const Var<T>> v) {
            return composed_log_softmax_gradient(v[0], v[1], axis);
        });
    });
}

}  // namespace

template <class T>
Var<T> log_softmax(const Var<T>& a, std::ptrdiff_t axis) {
    Tape<T>& tape = tape_of(a, "log_softmax");
    const std::size_t ax = normalize_axis(axis, a.dimension(), "log_softmax");
    const kernels::AxisLayout rows(a.shape(), ax);
    // Not a default-constructed array assigned later: that one allocates its single element.
    const bool by_rows = rows.contiguous_rows() || a.size() == 0;
    xt::xarray<T> out = by_rows ? tape.buffer(a.shape()) : shifted_by_max(a.value(), ax);
    if (!by_rows) {
        // log_softmax(a) = z - log(sum(exp(z))) with z = a - max(a): exp(z) <= 1.
        out -= xt::log(sum_along<T>(xt::exp(out), out.shape(), ax));
    } else if (a.size() != 0) {
        kernels::math::log_softmax_rows(a.value().data(), out.data(), rows.outer, rows.n);
    }
    return tape.record("log_softmax", {a}, std::move(out), [ax, rows](GradContext<T>& c) {
        // d/da: g - softmax(a) * sum(g, axis), with softmax(a) = exp(log_softmax(a))
        const auto& g = c.grad();
        if (rows.contiguous_rows()) {
            xt::xarray<T> dx = c.buffer(g.shape());
            kernels::math::log_softmax_grad_rows(g.data(), c.value().data(), dx.data(), rows.outer, rows.n);
            c.accumulate(0, std::move(dx));
        } else {
            c.accumulate(0, g - xt::exp(c.value()) * sum_along<T>(g, g.shape(), ax));
        }
    }, [ax, rows](VarGradContext<T>& c) {
        c.accumulate(0, rows.contiguous_rows() ? log_softmax_gradient_rows(c.output(), c.grad(), ax, rows)
                                               : composed_log_softmax_gradient(c.output(), c.grad(), ax));
    });
}

template <class T>
Var<T> softmax(const Var<T>& a, std::ptrdiff_t axis) {
    Tape<T>& tape = tape_of(a, "softmax");
    const std::size_t ax = normalize_axis(axis, a.dimension(), "softmax");
    const kernels::AxisLayout rows(a.shape(), ax);
    const bool by_rows = rows.contiguous_rows() || a.size() == 0;  // as in log_softmax
    xt::xarray<T> out = by_rows ? tape.buffer(a.shape()) : xt::xarray<T>(xt::exp(shifted_by_max(a.value(), ax)));
    if (!by_rows) {
        out /= sum_along<T>(out, out.shape(), ax);
    } else if (a.size() != 0) {
        kernels::math::softmax_rows(a.value().data(), out.data(), rows.outer, rows.n);
    }
    return tape.record("softmax", {a}, std::move(out), [ax, rows](GradContext<T>& c) {
        // d/da: y * (g - sum(g * y, axis)) with y = softmax(a)
        const auto& g = c.grad();
        const auto& y = c.value();
        if (rows.contiguous_rows()) {
            xt::xarray<T> dx = c.buffer(g.shape());
            kernels::math::softmax_grad_rows(g.data(), y.data(), dx.data(), rows.outer, rows.n);
            c.accumulate(0, std::move(dx));
        } else {
            c.accumulate(0, y * (g - sum_along<T>(g * y, g.shape(), ax)));
        }
    }, [ax](VarGradContext<T>& c) {
        const Var<T>& g = c.grad();
        const Var<T> y = c.output();
        c.accumulate(0, y * (g - sum(g * y, {static_cast<std::ptrdiff_t>(ax)}, true)));
    });
}

namespace {

xt::blas_index_t blas_index(std::size_t v) { return static_cast<xt::blas_index_t>(v); }

// gemm_batched when op(B) is a column (n == 1) or op(A) a row (m == 1): a
// matrix-vector product, C = op(A) b or C^T = op(B)^T a^T, whose vector side
// is contiguous either way. gemv skips gemm's packing of both operands, which
// dominates at small sizes (a logistic regression's forward and weight gradient).
template <class T>
void gemv_batched(std::size_t batch, bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                  const T* a, const T* b, T* c) {
    using cxxblas::Transpose;
    const bool column = n == 1;
    const T* matrix = column ? a : b;
    const T* vector = column ? b : a;
    const auto op = (column ? trans_a : !trans_b) ? Transpose::Trans : Transpose::NoTrans;
    const std::size_t rows = column ? (trans_a ? k : m) : (trans_b ? n : k);
    const std::size_t cols = column ? (trans_a ? m : k) : (trans_b ? k : n);
    const std::size_t matrix_size = column ? m * k : k * n;
    const std::size_t out_size = column ? m : n;
    for (std::size_t i = 0; i < batch; ++i) {
        cxxblas::gemv<xt::blas_index_t>(cxxblas::StorageOrder::RowMajor, op, blas_index(rows), blas_index(cols), T(1),
                                        matrix + i * matrix_size, blas_index(cols), vector + i * k, 1, T(0),
                                        c + i * out_size, 1);
    }
}

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
    if (n == 1 || m == 1) return gemv_batched(batch, trans_a, trans_b, m, n, k, a, b, c);
    using cxxblas::Transpose;
    const auto op_a = trans_a ? Transpose::Trans : Transpose::NoTrans;
    const auto op_b = trans_b ? Transpose::Trans : Transpose::NoTrans;
    const std::size_t lda = trans_a ? m : k;
    const std::size_t ldb = trans_b ? k : n;
    for (std::size_t i = 0; i < batch; ++i) {
        cxxblas::gemm<xt::blas_index_t>(cxxblas::StorageOrder::RowMajor, op_a, op_b, blas_index(m), blas_index(n),
                                        blas_index(k), T(1), a + i * m * k, blas_index(lda), b + i * k * n,
                                        blas_index(ldb), T(0), c + i * m * n, blas_index(n));
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
    xt::xarray<T> out = tape.buffer(out_shape);
    gemm_batched(batch, false, false, m, n, k, a.value().data(), b.value().data(), out.data());
    return tape.record("matmul", {a, b}, std::move(out), [batch, m, k, n](GradContext<T>& c) {
        const auto& g = c.grad();
        if (c.needs_grad(0)) {  // dA = G B^T
            xt::xarray<T> da = c.buffer(c.input(0).shape());
            gemm_batched(batch, false, true, m, k, n, g.data(), c.input(1).data(), da.data());
            c.accumulate(0, std::move(da));
        }
        if (c.needs_grad(1)) {  // dB = A^T G
            xt::xarray<T> db = c.buffer(c.input(1).shape());
            gemm_batched(batch, true, false, k, n, m, c.input(0).data(), g.data(), db.data());
            c.accumulate(1, std::move(db));
        }
    }, [](VarGradContext<T>& c) {
        const Var<T>& g = c.grad();
        if (c.needs_grad(0)) c.accumulate(0, matmul(g, swapaxes(c.input(1), -1, -2)));
        if (c.needs_grad(1)) c.accumulate(1, matmul(swapaxes(c.input(0), -1, -2), g));
    });
}

#define XTAPE_INSTANTIATE(T)                                   \
    template Var<T> log_softmax(const Var<T>&, std::ptrdiff_t); \
    template Var<T> softmax(const Var<T>&, std::ptrdiff_t);     \
    template Var<T> matmul(const Var<T>&, const Var<T>&);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
