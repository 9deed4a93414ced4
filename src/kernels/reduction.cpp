// Reductions over one contiguous block of axes: SIMD loops over rows and over columns.
#include "reduction.hpp"

#include <algorithm>
#include <atomic>
#include <limits>

#include "parallel.hpp"
#include "simd_loop.hpp"
#include "streaming_store.hpp"

namespace xtape::kernels {

namespace {

// Elements of a row summed lane-wise before the partial sums are added pairwise:
// a lane adds at most row_block / width terms in sequence.
constexpr std::size_t row_block = 2048;
// Columns accumulated together when adding rows: the running sums stay in L1.
constexpr std::size_t column_chunk = 512;
// Rows shorter than this are summed (and scaled) element by element: for them,
// zeroed accumulators, a padded tail and a horizontal add cost more than the
// arithmetic itself (docs/performance.md, 2026-12-06).
constexpr std::size_t short_row = 16;

// Rows added in sequence into running column sums before the sums of such groups
// are added pairwise, for the same reason as row_block.
constexpr std::size_t row_group = 64;

// The larger of acc and v, NaN as soon as either is NaN (std::max would drop it).
template <class T>
T nan_max(T acc, T v) {
    return (v > acc || v != v) ? v : acc;
}

template <class T>
Batch<T> nan_max(Batch<T> acc, Batch<T> v) {
    return xsimd::select((v > acc) | (v != v), v, acc);
}

// The sum of term(x[i], y[i]...) for i < n <= row_block, with four lane-wise
// accumulators (one would wait on the latency of each add).
template <class T, class Term, class... Rest>
T block_sum(std::size_t n, Term term, const T* x, const Rest*... y) {
    constexpr std::size_t width = Batch<T>::size;
    const auto at = [&](std::size_t i) {
        return term(Batch<T>::load_unaligned(x + i), Batch<T>::load_unaligned(y + i)...);
    };
    Batch<T> a0(T(0)), a1(T(0)), a2(T(0)), a3(T(0));
    std::size_t i = 0;
    for (; i + 4 * width <= n; i += 4 * width) {
        a0 += at(i);
        a1 += at(i + width);
        a2 += at(i + 2 * width);
        a3 += at(i + 3 * width);
    }
    for (; i + width <= n; i += width) a0 += at(i);
    T total = xsimd::hadd((a0 + a1) + (a2 + a3));
    if (i < n) total += map_sum<T>(n - i, term, x + i, y + i...);  // the tail, zero-padded and masked
    return total;
}

// The sum of term(x[i], y[i]...) for i < n: blocks of row_block added pairwise,
// so the rounding error grows with log(n / row_block) rather than with n.
template <class T, class Term, class... Rest>
T pairwise_sum(std::size_t n, Term term, const T* x, const Rest*... y) {
    if (n <= row_block) return block_sum(n, term, x, y...);
    const std::size_t half = (n + row_block - 1) / row_block / 2 * row_block;
    return pairwise_sum(half, term, x, y...) + pairwise_sum(n - half, term, x + half, (y + half)...);
}

// The sums of x*x, x*y and y*y over one stretch of a row.
template <class T>
struct SimilaritySums {
    T xx = 0, xy = 0, yy = 0;
};

// The similarity sums over i < n <= row_block in one pass, two lane-wise
// accumulators each; next_x[0:n] and next_y[0:n] (when not null) are fetched
// into the cache along the way, a line each time the pass starts one.
template <class T>
SimilaritySums<T> block_similarity_sums(std::size_t n, const T* x, const T* y, const T* next_x, const T* next_y) {
    using B = Batch<T>;
    constexpr std::size_t width = B::size;
    constexpr std::size_t line = cache_line_bytes / sizeof(T);
    B xx0(T(0)), xx1(T(0)), xy0(T(0)), xy1(T(0)), yy0(T(0)), yy1(T(0));
    std::size_t i = 0;
    for (; i + 2 * width <= n; i += 2 * width) {
        if (next_x != nullptr && i % line == 0) {
            __builtin_prefetch(next_x + i);
            __builtin_prefetch(next_y + i);
        }
        const B x0 = B::load_unaligned(x + i), x1 = B::load_unaligned(x + i + width);
        const B y0 = B::load_unaligned(y + i), y1 = B::load_unaligned(y + i + width);
        xx0 += x0 * x0;
        xx1 += x1 * x1;
        xy0 += x0 * y0;
        xy1 += x1 * y1;
        yy0 += y0 * y0;
        yy1 += y1 * y1;
    }
    if (next_x != nullptr) {
        for (std::size_t j = (i + line - 1) / line * line; j < n; j += line) {
            __builtin_prefetch(next_x + j);
            __builtin_prefetch(next_y + j);
        }
    }
    SimilaritySums<T> sums{xsimd::hadd(xx0 + xx1), xsimd::hadd(xy0 + xy1), xsimd::hadd(yy0 + yy1)};
    for (; i < n; ++i) {
        sums.xx += x[i] * x[i];
        sums.xy += x[i] * y[i];
        sums.yy += y[i] * y[i];
    }
    return sums;
}

// The similarity sums over i < n: blocks of row_block added pairwise, as pairwise_sum.
template <class T>
SimilaritySums<T> pairwise_similarity_sums(std::size_t n, const T* x, const T* y, const T* next_x,
                                           const T* next_y) {
    if (n <= row_block) return block_similarity_sums(n, x, y, next_x, next_y);
    const std::size_t half = (n + row_block - 1) / row_block / 2 * row_block;
    const auto ahead = [half](const T* next) { return next == nullptr ? nullptr : next + half; };
    const SimilaritySums<T> first = pairwise_similarity_sums(half, x, y, next_x, next_y);
    const SimilaritySums<T> second = pairwise_similarity_sums(n - half, x + half, y + half, ahead(next_x),
                                                              ahead(next_y));
    return {first.xx + second.xx, first.xy + second.xy, first.yy + second.yy};
}

// acc[j] = sum_r term(x[r * stride + j]) for r < rows, j < w <= column_chunk,
// where term(v) is v, or exp(v - shift[j]) when Shifted: rows are added into
// running column sums vectorised along the row, in groups of row_group whose
// sums are added pairwise (as pairwise_sum does with blocks).
template <bool Shifted, class T>
void column_sums(const T* x, std::size_t rows, std::size_t stride, std::size_t w, const T* shift, T* acc) {
    if (rows <= row_group) {
        std::fill_n(acc, w, T(0));
        for (std::size_t r = 0; r < rows; ++r) {
            if constexpr (Shifted) {
                map(w, acc, [](auto a, auto v, auto s) { return a + xsimd::exp(v - s); }, acc, x + r * stride,
                    shift);
            } else {
                map(w, acc, [](auto a, auto v) { return a + v; }, acc, x + r * stride);
            }
        }
        return;
    }
    const std::size_t half = (rows + row_group - 1) / row_group / 2 * row_group;
    alignas(64) T rest[column_chunk];
    column_sums<Shifted>(x, half, stride, w, shift, acc);
    column_sums<Shifted>(x + half * stride, rows - half, stride, w, shift, rest);
    map(w, acc, [](auto a, auto b) { return a + b; }, acc, rest);
}

// column_sums over every (o, chunk of columns), the chunks split between
// threads: the inner > 1 case of sum_block and sum_exp_block.
template <bool Shifted, class T>
void add_rows(const T* x, const BlockReduction& b, const T* shift, T* out) {
    const std::size_t chunks = (b.inner + column_chunk - 1) / column_chunk;
    parallel_for(b.outer * chunks, b.reduced * column_chunk, [&](std::size_t begin, std::size_t end) {
        for (std::size_t item = begin; item < end; ++item) {
            const std::size_t o = item / chunks;
            const std::size_t c0 = item % chunks * column_chunk;
            const std::size_t w = std::min(column_chunk, b.inner - c0);
            const T* s = Shifted ? shift + o * b.inner + c0 : nullptr;
            column_sums<Shifted>(x + o * b.reduced * b.inner + c0, b.reduced, b.inner, w, s, out + o * b.inner + c0);
        }
    });
}

// body(o) for o < rows, rows of n elements each, split between threads.
template <class Body>
void each_row(std::size_t rows, std::size_t n, Body body) {
    parallel_for(rows, n, [&](std::size_t begin, std::size_t end) {
        for (std::size_t o = begin; o < end; ++o) body(o);
    });
}

// The largest of x[i] for i < n (as nan_max folds), -inf for n == 0.
template <class T>
T row_max(const T* x, std::size_t n) {
    constexpr std::size_t width = Batch<T>::size;
    constexpr T lowest = -std::numeric_limits<T>::infinity();
    Batch<T> acc(lowest);
    std::size_t i = 0;
    for (; i + width <= n; i += width) acc = nan_max(acc, Batch<T>::load_unaligned(x + i));
    alignas(64) T lanes[width];
    acc.store_aligned(lanes);
    T m = lowest;
    for (T lane : lanes) m = nan_max(m, lane);
    for (; i < n; ++i) m = nan_max(m, x[i]);
    return m;
}

// combine_rows on one thread's rows, of an output of `total` elements.
template <class T>
void combine_row_range(const T* kx, const T* x, const T* ky, const T* y, std::size_t rows, std::size_t n,
                       std::size_t total, T* out) {
    // In parts, each fetching the same part of the next rows; an output larger
    // than the caches is staged part by part and streamed to memory.
    constexpr std::size_t part = 256;
    constexpr std::size_t line = cache_line_bytes / sizeof(T);
    const bool stream = total * sizeof(T) >= streamed_output_bytes;
    alignas(64) T staged[part];
    for (std::size_t o = 0; o < rows; ++o, x += n, y += n, out += n) {
        const auto combine = [a = Batch<T>(kx[o]), b = Batch<T>(ky[o])](auto u, auto v) { return a * u + b * v; };
        for (std::size_t begin = 0; begin < n; begin += part) {
            const std::size_t count = std::min(part, n - begin);
            if (o + 1 < rows) {
                for (std::size_t j = begin; j < begin + count; j += line) {
                    __builtin_prefetch(x + n + j);
                    __builtin_prefetch(y + n + j);
                }
            }
            if (!stream) {
                map(count, out + begin, combine, x + begin, y + begin);
                continue;
            }
            map(count, staged, combine, x + begin, y + begin);
            stream_copy(count, staged, out + begin);
        }
    }
    if (stream) store_fence();
}

}  // namespace

std::optional<BlockReduction> block_reduction(const Shape& shape, const AxisList& axes) {
    enum class Part { before, inside, after } part = Part::before;
    BlockReduction b{1, 1, 1};
    for (std::size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;  // fits in any part
        const bool reduced = std::binary_search(axes.begin(), axes.end(), d);
        if (reduced && part == Part::after) return std::nullopt;
        if (reduced) part = Part::inside;
        if (!reduced && part == Part::inside) part = Part::after;
        (part == Part::before ? b.outer : part == Part::inside ? b.reduced : b.inner) *= shape[d];
    }
    return b;
}

template <class T>
void sum_block(const T* x, const BlockReduction& b, T* out) {
    if (b.inner > 1) return add_rows<false>(x, b, static_cast<const T*>(nullptr), out);
    if (b.reduced == 1) {  // rows of one element: one pass, not a call per row (0 + x, as the loop adds)
        return parallel_for(b.outer, 1, [&](std::size_t begin, std::size_t end) {
            map(end - begin, out + begin, [](auto v) { return decltype(v)(T(0)) + v; }, x + begin);
        });
    }
    each_row(b.outer, b.reduced, [&](std::size_t o) {
        const T* row = x + o * b.reduced;
        if (b.reduced >= short_row) {
            out[o] = pairwise_sum(b.reduced, [](auto v) { return v; }, row);
            return;
        }
        T total = 0;
        for (std::size_t j = 0; j < b.reduced; ++j) total += row[j];
        out[o] = total;
    });
}

template <class T>
void max_block(const T* x, const BlockReduction& b, T* out) {
    if (b.inner == 1) {
        each_row(b.outer, b.reduced, [&](std::size_t o) { out[o] = row_max(x + o * b.reduced, b.reduced); });
        return;
    }
    for (std::size_t o = 0; o < b.outer; ++o) {
        T* m = out + o * b.inner;
        std::fill_n(m, b.inner, -std::numeric_limits<T>::infinity());
        for (std::size_t r = 0; r < b.reduced; ++r) {
            map(b.inner, m, [](auto acc, auto v) { return nan_max(acc, v); }, m,
                x + (o * b.reduced + r) * b.inner);
        }
    }
}

template <class T>
void sum_exp_block(const T* x, const BlockReduction& b, const T* shift, T* out) {
    if (b.inner > 1) return add_rows<true>(x, b, shift, out);
    each_row(b.outer, b.reduced, [&](std::size_t o) {
        const Batch<T> s(shift[o]);
        out[o] = pairwise_sum(b.reduced, [s](auto v) { return xsimd::exp(v - s); }, x + o * b.reduced);
    });
}

template <class T>
void dot_rows(const T* x, const T* y, std::size_t rows, std::size_t n, T* out) {
    each_row(rows, n, [&](std::size_t o) {
        out[o] = pairwise_sum(n, [](auto u, auto v) { return u * v; }, x + o * n, y + o * n);
    });
}

template <class T>
void scale_rows(const T* g, T factor, const T* y, std::size_t rows, std::size_t n, T* out) {
    each_row(rows, n, [&](std::size_t o) {
        map(n, out + o * n, [k = Batch<T>(factor * g[o])](auto v) { return k * v; }, y + o * n);
    });
}

template <class T>
void scale_rows_in_place(const T* g, std::size_t rows, std::size_t n, T* y) {
    if (n == 1) {  // rows of one element: one pass of products, not a call per row
        return parallel_for(rows, 1, [&](std::size_t begin, std::size_t end) {
            map(end - begin, y + begin, [](auto v, auto k) { return v * k; }, y + begin, g + begin);
        });
    }
    each_row(rows, n, [&](std::size_t o) {
        if (g[o] == T(1)) return;
        if (n >= short_row) return map(n, y + o * n, [k = Batch<T>(g[o])](auto v) { return k * v; }, y + o * n);
        for (std::size_t j = 0; j < n; ++j) y[o * n + j] *= g[o];  // the same products, without a padded batch
    });
}

template <class T>
void similarity_sums_rows(const T* x, const T* y, std::size_t rows, std::size_t n, T* xx, T* xy, T* yy) {
    parallel_for(rows, n, [&](std::size_t begin, std::size_t end) {
        for (std::size_t o = begin; o < end; ++o) {
            const T* xo = x + o * n;
            const T* yo = y + o * n;
            const bool last = o + 1 == end;  // of this thread's rows: it fetches none of another's
            const SimilaritySums<T> sums =
                pairwise_similarity_sums(n, xo, yo, last ? nullptr : xo + n, last ? nullptr : yo + n);
            xx[o] = sums.xx;
            xy[o] = sums.xy;
            yy[o] = sums.yy;
        }
    });
}

template <class T>
bool any_negative(const T* x, std::size_t n) {
    constexpr std::size_t width = Batch<T>::size;
    const Batch<T> zero(T(0));
    // A range that finds one sets the shared flag: the answer does not depend
    // on where the ranges are cut.
    std::atomic<bool> found{false};
    parallel_for(n, 1, [&](std::size_t begin, std::size_t end) {
        auto negative = zero < zero;
        std::size_t i = begin;
        for (; i + width <= end; i += width) negative = negative | (Batch<T>::load_unaligned(x + i) < zero);
        bool any = xsimd::any(negative);
        for (; i < end; ++i) any = any || x[i] < 0;
        if (any) found.store(true, std::memory_order_relaxed);
    });
    return found.load(std::memory_order_relaxed);
}

template <class T>
void combine_rows(const T* kx, const T* x, const T* ky, const T* y, std::size_t rows, std::size_t n, T* out) {
    parallel_for(rows, n, [&](std::size_t begin, std::size_t end) {
        combine_row_range(kx + begin, x + begin * n, ky + begin, y + begin * n, end - begin, n, rows * n,
                          out + begin * n);
    });
}

template <class T>
void dots_then_combine_rows(const T* u, const T* x, const T* y, std::size_t rows, std::size_t n,
                            const std::function<std::array<T, 6>(std::size_t, T, T)>& coefficients, T* out_0,
                            T* out_1) {
    constexpr std::size_t line = cache_line_bytes / sizeof(T);
    const auto times = [](auto a, auto b) { return a * b; };
    parallel_for(rows, 3 * n, [&](std::size_t begin, std::size_t end) {
        for (std::size_t o = begin; o < end; ++o) {
            const std::size_t at = o * n;
            if (o + 1 < end) {  // of this thread's rows: it fetches none of another's
                for (std::size_t j = at + n; j < at + 2 * n; j += line) {
                    __builtin_prefetch(u + j);
                    __builtin_prefetch(x + j);
                    __builtin_prefetch(y + j);
                }
            }
            const std::array<T, 6> k =
                coefficients(o, pairwise_sum(n, times, u + at, x + at), pairwise_sum(n, times, u + at, y + at));
            const auto combine = [](T ku, T kx, T ky) {
                return [ku = Batch<T>(ku), kx = Batch<T>(kx), ky = Batch<T>(ky)](auto a, auto b, auto c) {
                    return ku * a + kx * b + ky * c;
                };
            };
            if (out_0 != nullptr) map(n, out_0 + at, combine(k[0], k[1], k[2]), u + at, x + at, y + at);
            if (out_1 != nullptr) map(n, out_1 + at, combine(k[3], k[4], k[5]), u + at, x + at, y + at);
        }
    });
}

template <class T>
void broadcast_block(const T* g, const BlockReduction& b, T divisor, T* out) {
    if (b.reduced == 0) return;  // nothing to write
    for (std::size_t o = 0; o < b.outer; ++o) {
        T* slice = out + o * b.reduced * b.inner;
        if (b.inner == 1) {
            std::fill_n(slice, b.reduced, g[o] / divisor);
            continue;
        }
        // The first row once, then copies of it.
        const Batch<T> d(divisor);
        map(b.inner, slice, [d](auto v) { return v / d; }, g + o * b.inner);
        for (std::size_t r = 1; r < b.reduced; ++r) std::copy_n(slice, b.inner, slice + r * b.inner);
    }
}

template <class T>
void scaled_exp_block(const T* x, const BlockReduction& b, const T* shift, const T* scale, T* out) {
    for (std::size_t o = 0; o < b.outer; ++o) {
        if (b.inner == 1) {
            const Batch<T> s(shift[o]), k(scale[o]);
            map(b.reduced, out + o * b.reduced, [s, k](auto v) { return xsimd::exp(v - s) * k; },
                x + o * b.reduced);
            continue;
        }
        for (std::size_t r = 0; r < b.reduced; ++r) {
            const std::size_t row = (o * b.reduced + r) * b.inner;
            map(b.inner, out + row, [](auto v, auto s, auto k) { return xsimd::exp(v - s) * k; }, x + row,
                shift + o * b.inner, scale + o * b.inner);
        }
    }
}

template <class T>
void first_max_gradient_block(const T* x, const BlockReduction& b, const T* m, const T* g, T* out) {
    std::fill_n(out, b.outer * b.reduced * b.inner, T(0));
    std::vector<char> open(b.inner);  // slots of this o still waiting for their maximum
    for (std::size_t o = 0; o < b.outer; ++o) {
        std::fill(open.begin(), open.end(), char(1));
        std::size_t remaining = b.inner;
        for (std::size_t r = 0; r < b.reduced && remaining > 0; ++r) {
            const std::size_t row = (o * b.reduced + r) * b.inner;
            for (std::size_t i = 0; i < b.inner; ++i) {
                if (open[i] && x[row + i] == m[o * b.inner + i]) {
                    out[row + i] = g[o * b.inner + i];
                    open[i] = 0;
                    --remaining;
                }
            }
        }
    }
}

#define XTAPE_INSTANTIATE(T)                                                                                  \
    template void sum_block(const T*, const BlockReduction&, T*);                                             \
    template void max_block(const T*, const BlockReduction&, T*);                                             \
    template void sum_exp_block(const T*, const BlockReduction&, const T*, T*);                               \
    template void dot_rows(const T*, const T*, std::size_t, std::size_t, T*);                                 \
    template void scale_rows(const T*, T, const T*, std::size_t, std::size_t, T*);                            \
    template void scale_rows_in_place(const T*, std::size_t, std::size_t, T*);                                \
    template void similarity_sums_rows(const T*, const T*, std::size_t, std::size_t, T*, T*, T*);             \
    template bool any_negative(const T*, std::size_t);                                                        \
    template void combine_rows(const T*, const T*, const T*, const T*, std::size_t, std::size_t, T*);         \
    template void dots_then_combine_rows(const T*, const T*, const T*, std::size_t, std::size_t,              \
                                         const std::function<std::array<T, 6>(std::size_t, T, T)>&, T*, T*); \
    template void broadcast_block(const T*, const BlockReduction&, T, T*);                                    \
    template void scaled_exp_block(const T*, const BlockReduction&, const T*, const T*, T*);                  \
    template void first_max_gradient_block(const T*, const BlockReduction&, const T*, const T*, T*);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape::kernels
