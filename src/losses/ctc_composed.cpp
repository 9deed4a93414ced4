// The CTC forward recursion composed on the tape from primitives, so that its gradient comes from the tape.
#include <algorithm>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "xtape/detail/op_support.hpp"
#include "xtape/losses/ctc_nll.hpp"
#include "xtape/ops.hpp"

namespace xtape {

namespace {

// Arrays with one row per sample, shaped to line up with a single frame of the
// activations: (N, 1, k) for NTC, (1, N, k) for TNC. A row-major (N, k) array
// has the same element order in both, so rows are filled as (N, k).
class FrameShapes {
public:
    explicit FrameShapes(const CtcAlignment& a) : time_major_(a.layout == CtcLayout::TNC), batch_(a.batch) {}

    std::size_t time_axis() const { return time_major_ ? 0 : 1; }
    Shape per_sample(std::size_t k) const { return time_major_ ? Shape{1, batch_, k} : Shape{batch_, 1, k}; }
    /// The same with the last axis split into (k, m).
    Shape per_sample(std::size_t k, std::size_t m) const {
        return time_major_ ? Shape{1, batch_, k, m} : Shape{batch_, 1, k, m};
    }

private:
    bool time_major_;
    std::size_t batch_;
};

template <class T>
constexpr T neg_inf = -std::numeric_limits<T>::infinity();

// Where state s of each sample comes from: for move k = 0, 1, 2 (stay, advance,
// skip) the predecessor s - k, k-major in the last axis (3 S entries per sample).
// A move that is not allowed gets penalty -inf (and a harmless index 0).
template <class T>
struct Moves {
    IndexArray from;
    xt::xarray<T> penalty;
};

template <class T>
Moves<T> moves_of(const CtcAlignment& a, const FrameShapes& shapes) {
    const std::size_t S = a.states;
    Moves<T> m{IndexArray::from_shape(shapes.per_sample(3 * S)), xt::xarray<T>::from_shape(shapes.per_sample(3 * S))};
    for (std::size_t n = 0; n < a.batch; ++n) {
        for (std::size_t k = 0; k < 3; ++k) {
            for (std::size_t s = 0; s < S; ++s) {
                const bool allowed = s >= k && (k < 2 || a.can_skip[n * S + s]);
                const std::size_t flat = (n * 3 + k) * S + s;
                m.from.flat(flat) = allowed ? static_cast<std::int64_t>(s - k) : 0;
                m.penalty.flat(flat) = allowed ? T(0) : neg_inf<T>;
            }
        }
    }
    return m;
}

// log softmax(x_t)[l'_s] for every frame: the extended labels, repeated over time.
IndexArray emission_index(const CtcAlignment& a) {
    const bool time_major = a.layout == CtcLayout::TNC;
    const std::size_t S = a.states;
    IndexArray index = IndexArray::from_shape(time_major ? Shape{a.frames, a.batch, S} : Shape{a.batch, a.frames, S});
    for (std::size_t t = 0; t < a.frames; ++t) {
        for (std::size_t n = 0; n < a.batch; ++n) {
            const std::size_t row = time_major ? t * a.batch + n : n * a.frames + t;
            std::copy_n(&a.extended[n * S], S, &index.flat(row * S));
        }
    }
    return index;
}

// Splits `block` into its frames, frames[first + t] = frame t, by halving along
// the time axis. A node's backward writes a gradient the size of its input, so
// taking each frame from the whole array would cost O(T^2 N S); halving costs
// O(T log T N S) in 2T - 2 slices.
template <class T>
void split_frames(const Var<T>& block, std::size_t first, std::size_t time_axis, std::vector<Var<T>>& frames) {
    const std::size_t length = block.shape()[time_axis];
    if (length == 1) {
        frames[first] = block;
        return;
    }
    const std::size_t half = length / 2;
    split_frames(slice(block, static_cast<std::ptrdiff_t>(time_axis), 0, half), first, time_axis, frames);
    split_frames(slice(block, static_cast<std::ptrdiff_t>(time_axis), half, length), first + half, time_axis, frames);
}

// True at the frames each sample uses: (N, T, 1) or (T, N, 1).
Mask frame_mask(const CtcAlignment& a) {
    const bool time_major = a.layout == CtcLayout::TNC;
    Mask mask = Mask::from_shape(time_major ? Shape{a.frames, a.batch, 1} : Shape{a.batch, a.frames, 1});
    for (std::size_t t = 0; t < a.frames; ++t) {
        for (std::size_t n = 0; n < a.batch; ++n) {
            mask.flat(time_major ? t * a.batch + n : n * a.frames + t) = t < a.frame_counts[n];
        }
    }
    return mask;
}

}  // namespace

template <class T>
Var<T> ctc_nll_composed(const Var<T>& activations, const CtcAlignment& a) {
    Tape<T>& tape = detail::tape_of(activations, "ctc_nll_composed");
    const bool time_major = a.layout == CtcLayout::TNC;
    const Shape expected = time_major ? Shape{a.frames, a.batch, a.classes} : Shape{a.batch, a.frames, a.classes};
    if (activations.shape() != expected) {
        throw ShapeError(fmt::format("ctc_nll_composed: activations of shape {} do not match the alignment's {} {}",
                                     to_string(activations.shape()), time_major ? "(T, N, C)" : "(N, T, C)",
                                     to_string(expected)));
    }
    const FrameShapes shapes(a);
    const std::size_t time_axis = shapes.time_axis();
    const std::size_t S = a.states;
    // With no frames every loss is 0 (only empty labels fit); it stays a node on pred.
    if (a.frames == 0 || a.batch == 0) {
        return mul(sum(activations, {static_cast<std::ptrdiff_t>(time_axis), 2}), T(0));
    }
    const Var<T> zero = tape.constant(xt::zeros<T>({1}));

    // Frames past T_n may hold anything, NaN included: replace them before
    // log_softmax reads them, so that their gradient is an exact 0, not 0 * NaN.
    Var<T> x = a.has_short_samples() ? xtape::where(frame_mask(a), activations, zero) : activations;
    std::vector<Var<T>> emit(a.frames);
    split_frames(xtape::gather(log_softmax(x, -1), emission_index(a), 2), 0, time_axis, emit);

    // A path starts in the first blank or the first label.
    xt::xarray<T> start = xt::xarray<T>::from_shape(shapes.per_sample(S));
    for (std::size_t n = 0; n < a.batch; ++n) {
        for (std::size_t s = 0; s < S; ++s) start.flat(n * S + s) = s < 2 ? T(0) : neg_inf<T>;
    }
    Var<T> alpha = add(emit[0], tape.constant(std::move(start)));

    // alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2) if skipping is allowed) + emit_t(s)
    Moves<T> moves = moves_of<T>(a, shapes);
    const Var<T> penalty = tape.constant(std::move(moves.penalty));
    for (std::size_t t = 1; t < a.frames; ++t) {
        const Var<T> candidates = reshape(add(xtape::gather(alpha, moves.from, 2), penalty), shapes.per_sample(3, S));
        const Var<T> next = add(logsumexp(candidates, {2}), emit[t]);
        Mask running = Mask::from_shape(shapes.per_sample(1));
        bool some_finished = false;
        for (std::size_t n = 0; n < a.batch; ++n) {
            running.flat(n) = t < a.frame_counts[n];
            some_finished = some_finished || !running.flat(n);
        }
        // A finished sample keeps its last alpha.
        alpha = some_finished ? xtape::where(running, next, alpha) : next;
    }

    // The path ends in the last blank (state 2 L_n) or the last label (2 L_n - 1, when L_n > 0).
    IndexArray end = IndexArray::from_shape(shapes.per_sample(2));
    xt::xarray<T> end_penalty = xt::xarray<T>::from_shape(shapes.per_sample(2));
    bool all_contribute = true;
    Mask contributes = Mask::from_shape({a.batch});
    for (std::size_t n = 0; n < a.batch; ++n) {
        const std::size_t last = 2 * a.label_lengths[n];
        end.flat(2 * n) = static_cast<std::int64_t>(last);
        end.flat(2 * n + 1) = static_cast<std::int64_t>(last > 0 ? last - 1 : 0);
        end_penalty.flat(2 * n) = T(0);
        end_penalty.flat(2 * n + 1) = last > 0 ? T(0) : neg_inf<T>;
        contributes(n) = a.contributes(n);
        all_contribute = all_contribute && a.contributes(n);
    }
    const Var<T> ends = add(xtape::gather(alpha, end, 2), tape.constant(std::move(end_penalty)));
    const Var<T> nll = neg(logsumexp(ends, {static_cast<std::ptrdiff_t>(time_axis), 2}));
    // Infeasible samples (p = 0) and samples without frames give 0 and no gradient.
    return all_contribute ? nll : xtape::where(contributes, nll, zero);
}

template Var<float> ctc_nll_composed(const Var<float>&, const CtcAlignment&);
template Var<double> ctc_nll_composed(const Var<double>&, const CtcAlignment&);

}  // namespace xtape
