// The fused CTC op: alpha and beta recursions in one tape node, scaled in the probability domain, log space as the fallback.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "xtape/detail/op_support.hpp"
#include "xtape/losses/ctc_nll.hpp"

#include "../kernels/parallel.hpp"
#include "../ops/differentiable.hpp"
#include "../rules/kernels.hpp"

namespace xtape {

namespace {

// The recursions run in double for both T: float inputs then agree with double ones.
// The log-space Lattice below is the exact fallback for samples whose scaled recursion underflows.
constexpr double neg_inf = -std::numeric_limits<double>::infinity();

// log(exp(a) + exp(b)), exact when either is -inf.
double log_add(double a, double b) {
    if (a == neg_inf) return b;
    if (b == neg_inf) return a;
    return std::max(a, b) + std::log1p(std::exp(-std::abs(a - b)));
}

// The activations of one sample: frame t's C channels start at base + t * stride.
template <class T>
struct SampleFrames {
    const T* base;
    std::size_t stride;
    std::size_t classes;

    const T* frame(std::size_t t) const { return base + t * stride; }
};

template <class T>
SampleFrames<T> frames_of(const T* data, const CtcAlignment& a, std::size_t n) {
    if (a.layout == CtcLayout::TNC) return {data + n * a.classes, a.batch * a.classes, a.classes};
    return {data + n * a.frames * a.classes, a.classes, a.classes};
}

// One sample's lattice over its first T_n frames and S_n states, all in log space:
//   emit(t, s)  = log softmax(x_t)[l'_s]
//   alpha(t, s) = log P(the path is in state s at t, having emitted frames 0..t)
//   beta(t, s)  = log P(frames t+1..T_n-1 finish the label | state s at t)
// so alpha(t, s) + beta(t, s) - log p is the posterior of state s at frame t.
template <class T>
class Lattice {
public:
    Lattice(const SampleFrames<T>& x, const CtcAlignment& a, std::size_t n)
        : frames_(a.frame_counts[n]),
          states_(a.states_of(n)),
          labels_(&a.extended[n * a.states]),
          can_skip_(&a.can_skip[n * a.states]),
          normaliser_(frames_),
          emit_(frames_ * states_),
          alpha_(frames_ * states_, neg_inf) {
        for (std::size_t t = 0; t < frames_; ++t) {
            const T* row = x.frame(t);
            const double m = *std::max_element(row, row + x.classes);
            double sum = 0;
            for (std::size_t c = 0; c < x.classes; ++c) sum += std::exp(row[c] - m);
            normaliser_[t] = m + std::log(sum);
            for (std::size_t s = 0; s < states_; ++s) emit(t, s) = row[labels_[s]] - normaliser_[t];
        }
        run_alpha();
    }

    /// log p(l | x): the path ends in the last blank or the last label.
    double log_likelihood() const {
        const std::size_t last = states_ - 1;
        return log_add(alpha(frames_ - 1, last), last > 0 ? alpha(frames_ - 1, last - 1) : neg_inf);
    }

    /// Writes g (softmax(x_t) - posterior occupancy of each class) for every frame
    /// t < T_n into the rows of `grad` laid out as the activations.
    void gradient(const SampleFrames<T>& x, T* grad, double g) {
        run_beta();
        const double log_p = log_likelihood();
        // One frame's gradient in double: softmax and occupancy nearly cancel.
        std::vector<double> frame(x.classes);
        for (std::size_t t = 0; t < frames_; ++t) {
            const T* row = x.frame(t);
            for (std::size_t c = 0; c < x.classes; ++c) frame[c] = std::exp(row[c] - normaliser_[t]);
            for (std::size_t s = 0; s < states_; ++s) {
                frame[labels_[s]] -= std::exp(alpha(t, s) + beta(t, s) - log_p);
            }
            T* out = grad + (row - x.base);
            for (std::size_t c = 0; c < x.classes; ++c) out[c] = static_cast<T>(g * frame[c]);
        }
    }

private:
    double& emit(std::size_t t, std::size_t s) { return emit_[t * states_ + s]; }
    double emit(std::size_t t, std::size_t s) const { return emit_[t * states_ + s]; }
    double& alpha(std::size_t t, std::size_t s) { return alpha_[t * states_ + s]; }
    double alpha(std::size_t t, std::size_t s) const { return alpha_[t * states_ + s]; }
    double& beta(std::size_t t, std::size_t s) { return beta_[t * states_ + s]; }

    // A path starts in the first blank or the first label, then stays, advances,
    // or skips the blank between two different labels.
    void run_alpha() {
        alpha(0, 0) = emit(0, 0);
        if (states_ > 1) alpha(0, 1) = emit(0, 1);
        for (std::size_t t = 1; t < frames_; ++t) {
            for (std::size_t s = 0; s < states_; ++s) {
                double a = alpha(t - 1, s);
                if (s >= 1) a = log_add(a, alpha(t - 1, s - 1));
                if (s >= 2 && can_skip_[s]) a = log_add(a, alpha(t - 1, s - 2));
                alpha(t, s) = a + emit(t, s);
            }
        }
    }

    // The mirror image: from the last frame backwards, over the moves out of s.
    void run_beta() {
        beta_.assign(frames_ * states_, neg_inf);
        const std::size_t last = states_ - 1;
        beta(frames_ - 1, last) = 0;
        if (last > 0) beta(frames_ - 1, last - 1) = 0;
        for (std::size_t t = frames_ - 1; t-- > 0;) {
            for (std::size_t s = 0; s < states_; ++s) {
                double b = beta(t + 1, s) + emit(t + 1, s);
                if (s + 1 < states_) b = log_add(b, beta(t + 1, s + 1) + emit(t + 1, s + 1));
                if (s + 2 < states_ && can_skip_[s + 2]) b = log_add(b, beta(t + 1, s + 2) + emit(t + 1, s + 2));
                beta(t, s) = b;
            }
        }
    }

    std::size_t frames_;
    std::size_t states_;
    const std::int64_t* labels_;
    const std::uint8_t* can_skip_;
    std::vector<double> normaliser_;  // log sum_c exp(x_{t,c})
    std::vector<double> emit_;
    std::vector<double> alpha_;
    std::vector<double> beta_;
};

// Sample n's part of the extended labels: its S_n states and where a skip is allowed.
struct SampleStates {
    std::size_t frames;
    std::size_t states;
    const std::int64_t* labels;
    const std::uint8_t* can_skip;
};

SampleStates states_of(const CtcAlignment& a, std::size_t n) {
    return {a.frame_counts[n], a.states_of(n), &a.extended[n * a.states], &a.can_skip[n * a.states]};
}

// A value of the scaled recursions under this, from a positive predecessor, may have
// been rounded to a subnormal or to 0 (an underflow): that sample then runs in log space.
// (A row's total before rescaling is at most 3, so rescaling cannot push a checked value below DBL_MIN.)
constexpr double smallest_checked = 4 * std::numeric_limits<double>::min();
// The backward's occupancy products may underflow; with Z_t at least this, those
// weigh under 2^-120 of Z_t. A smaller Z_t (alpha and beta barely overlap) goes to log space.
constexpr double smallest_overlap = 0x1p-900;

// probs = softmax(x_t), in double.
template <class T>
void softmax_frame(const T* row, std::size_t classes, double* probs) {
    double m = row[0];
    for (std::size_t c = 1; c < classes; ++c) m = std::max(m, static_cast<double>(row[c]));
    for (std::size_t c = 0; c < classes; ++c) probs[c] = static_cast<double>(row[c]) - m;
    rules::best_kernels<double>().apply(rules::Op::exp, {}, classes, probs, nullptr, probs);
    double sum = 0;
    for (std::size_t c = 0; c < classes; ++c) sum += probs[c];
    const double inverse = 1 / sum;
    for (std::size_t c = 0; c < classes; ++c) probs[c] *= inverse;
}

// Multiplies row[0..n) by 1 / its sum; returns the sum (0 or NaN are left for the caller).
double rescale(double* row, std::size_t n) {
    double sum = 0;
    for (std::size_t s = 0; s < n; ++s) sum += row[s];
    const double inverse = 1 / sum;
    for (std::size_t s = 0; s < n; ++s) row[s] *= inverse;
    return sum;
}

// The alpha recursion in the probability domain with each frame rescaled to sum 1
// (Graves' scaling): no log or exp per state. Writes the T_n scaled rows of S_n
// alphas, their T_n totals before rescaling and the T_n softmax rows of C;
// returns log p(l | x), or nothing when a value underflowed or a frame is not
// finite (then the caller uses log space).
template <class T>
std::optional<double> scaled_alpha(const SampleFrames<T>& x, const SampleStates& st, double* alpha,
                                   double* totals, double* softmax, std::vector<double>& work) {
    const std::size_t S = st.states;
    work.resize(S);
    double* skip = work.data();  // 1 where state s may be entered from s-2, as a factor
    for (std::size_t s = 0; s < S; ++s) skip[s] = st.can_skip[s] ? 1.0 : 0.0;
    double log_p = 0;
    bool underflow = false;
    for (std::size_t t = 0; t < st.frames; ++t) {
        double* probs = softmax + t * x.classes;
        softmax_frame(x.frame(t), x.classes, probs);
        double* now = alpha + t * S;
        if (t == 0) {
            std::fill(now, now + S, 0.0);
            now[0] = probs[st.labels[0]];
            if (S > 1) now[1] = probs[st.labels[1]];
            underflow = now[0] < smallest_checked || (S > 1 && now[1] < smallest_checked);
        } else {
            // States 0 and 1 are always reachable, so their predecessors are positive.
            const double* before = now - S;
            now[0] = before[0] * probs[st.labels[0]];
            underflow |= now[0] < smallest_checked;
            if (S > 1) {
                now[1] = (before[1] + before[0]) * probs[st.labels[1]];
                underflow |= now[1] < smallest_checked;
            }
            // Branch-free over the states, where most of the time goes.
            for (std::size_t s = 2; s < S; ++s) {
                const double into = before[s] + before[s - 1] + skip[s] * before[s - 2];
                now[s] = into * probs[st.labels[s]];
                underflow |= (into > 0) & (now[s] < smallest_checked);
            }
        }
        const double total = rescale(now, S);
        if (underflow || !(total > 0) || !std::isfinite(total)) return std::nullopt;
        totals[t] = total;
        log_p += std::log(total);
    }
    const double* last = alpha + (st.frames - 1) * S;
    const double end = last[S - 1] + (S > 1 ? last[S - 2] : 0.0);
    if (!(end > 0)) return std::nullopt;
    return log_p + std::log(end);
}

// The beta recursion, scaled the same way, and the gradient frame by frame from the
// last: the posterior occupancy of state s at t is alpha_t(s) beta_t(s) / Z_t with
// Z_t = sum_s alpha_t(s) beta_t(s), so the scales of both recursions cancel. Writes
// g (softmax(x_t) - occupancy of each class) into `grad` laid out as the activations;
// returns false when a value underflowed (then the caller uses log space).
template <class T>
bool scaled_gradient(const SampleFrames<T>& x, const SampleStates& st, const double* alpha,
                     const double* softmax, T* grad, double g, std::vector<double>& work) {
    const std::size_t S = st.states;
    const std::size_t C = x.classes;
    work.assign(C + 4 * S + 2, 0.0);
    double* occupancy = work.data();
    double* beta = occupancy + C;
    double* weight = beta + S;
    double* skip_next = weight + S;  // 1 where state s may skip to s+2, as a factor
    double* next = skip_next + S;    // beta_{t+1}(s) y_{t+1}(l'_s), rescaled, then two zeros
    for (std::size_t s = 0; s + 2 < S; ++s) skip_next[s] = st.can_skip[s + 2] ? 1.0 : 0.0;
    beta[S - 1] = 1;
    if (S > 1) beta[S - 2] = 1;
    for (std::size_t t = st.frames; t-- > 0;) {
        const T* row = x.frame(t);
        const double* probs = softmax + t * C;
        if (t + 1 < st.frames) {
            for (std::size_t s = 0; s < S; ++s) {
                beta[s] = next[s] + next[s + 1] + skip_next[s] * next[s + 2];
            }
        }
        const double* a = alpha + t * S;
        double z = 0;
        for (std::size_t s = 0; s < S; ++s) {
            weight[s] = a[s] * beta[s];
            z += weight[s];
        }
        if (!(z >= smallest_overlap) || !std::isfinite(z)) return false;
        // softmax - occupancy in double (they nearly cancel), then scaled by g.
        const double inverse_z = 1 / z;
        std::fill(occupancy, occupancy + C, 0.0);
        for (std::size_t s = 0; s < S; ++s) occupancy[st.labels[s]] += weight[s] * inverse_z;
        T* out = grad + (row - x.base);
        for (std::size_t c = 0; c < C; ++c) out[c] = static_cast<T>(g * (probs[c] - occupancy[c]));
        if (t == 0) break;
        bool underflow = false;
        for (std::size_t s = 0; s < S; ++s) {
            next[s] = beta[s] * probs[st.labels[s]];
            underflow |= (beta[s] > 0) & (next[s] < smallest_checked);
        }
        const double total = rescale(next, S);
        if (underflow || !(total > 0)) return false;
    }
    return true;
}

// Sample n's block of H u, for H the Hessian of g nll_n in its activations and u
// laid out as them; returns the sample's d/dg, sum over t, c of
// (softmax - occupancy) u. With y_t = softmax(x_t), gamma the occupancy and
// U(pi) = sum_t u_{t, pi_t} (a path's total of u), H u at frame t, class c is
//   g (y_c (u_c - y.u) - (E[1{pi_t = c} U] - gamma_c E[U])),
// the softmax's own curvature less the posterior covariance of emitting c at t
// with U (log softmax shifts U by a constant per frame, which the covariance
// ignores). E[1{pi_t = c} U] = sum over s with l'_s = c of
// (alpha'_t(s) beta_t(s) + alpha_t(s) beta'_t(s)) / p, where alpha' and beta'
// are the recursions differentiated along u (each path's probability times its
// partial sum of u): linear in alpha and beta, so they run once more beside them
// under the same scales, which cancel against Z_t as in scaled_gradient. The
// beta recursion is scaled_gradient's, step for step, so it does not underflow
// where that one did not.
template <class T>
double scaled_hessian_product(const SampleFrames<T>& x, const T* u, const SampleStates& st, const double* alpha,
                              const double* totals, const double* softmax, T* out, double g,
                              std::vector<double>& work) {
    const std::size_t S = st.states;
    const std::size_t C = x.classes;
    work.assign(st.frames * S + 2 * C + 5 * S + 4, 0.0);
    double* alpha_dot = work.data();  // alpha', scaled as alpha, all frames
    double* occupancy = alpha_dot + st.frames * S;
    double* cross = occupancy + C;  // E[1{pi_t = c} U]
    double* beta = cross + C;
    double* beta_dot = beta + S;
    double* skip_next = beta_dot + S;
    double* next = skip_next + S;     // as scaled_gradient's, then two zeros
    double* next_dot = next + S + 2;  // its derivative, then two zeros
    for (std::size_t s = 0; s + 2 < S; ++s) skip_next[s] = st.can_skip[s + 2] ? 1.0 : 0.0;
    // u at frame t, at the extended label of state s.
    const auto u_at = [&](std::size_t t, std::size_t s) {
        return static_cast<double>(u[x.frame(t) - x.base + st.labels[s]]);
    };

    // alpha'_t(s) = (alpha'_{t-1} over s's predecessors) y_t(l'_s) / total_t + alpha_t(s) u_t(l'_s).
    for (std::size_t s = 0; s < S; ++s) alpha_dot[s] = alpha[s] * u_at(0, s);
    for (std::size_t t = 1; t < st.frames; ++t) {
        const double* before = alpha_dot + (t - 1) * S;
        double* now = alpha_dot + t * S;
        const double* a = alpha + t * S;
        const double* probs = softmax + t * C;
        const double inverse_total = 1 / totals[t];
        for (std::size_t s = 0; s < S; ++s) {
            double into = before[s];
            if (s >= 1) into += before[s - 1];
            if (s >= 2 && st.can_skip[s]) into += before[s - 2];
            now[s] = into * probs[st.labels[s]] * inverse_total + a[s] * u_at(t, s);
        }
    }

    beta[S - 1] = 1;
    if (S > 1) beta[S - 2] = 1;
    double expected_u = 0;  // E[U] = p'/p: the sum of the last frame's cross terms
    double d_scale = 0;
    for (std::size_t t = st.frames; t-- > 0;) {
        const std::size_t offset = x.frame(t) - x.base;
        const double* probs = softmax + t * C;
        if (t + 1 < st.frames) {
            for (std::size_t s = 0; s < S; ++s) {
                beta[s] = next[s] + next[s + 1] + skip_next[s] * next[s + 2];
                beta_dot[s] = next_dot[s] + next_dot[s + 1] + skip_next[s] * next_dot[s + 2];
            }
        }
        const double* a = alpha + t * S;
        const double* a_dot = alpha_dot + t * S;
        double z = 0;
        for (std::size_t s = 0; s < S; ++s) z += a[s] * beta[s];
        const double inverse_z = 1 / z;
        std::fill(occupancy, occupancy + 2 * C, 0.0);  // and cross
        for (std::size_t s = 0; s < S; ++s) {
            occupancy[st.labels[s]] += a[s] * beta[s] * inverse_z;
            cross[st.labels[s]] += (a_dot[s] * beta[s] + a[s] * beta_dot[s]) * inverse_z;
        }
        if (t + 1 == st.frames) expected_u = std::accumulate(cross, cross + C, 0.0);
        double y_dot_u = 0;
        for (std::size_t c = 0; c < C; ++c) y_dot_u += probs[c] * static_cast<double>(u[offset + c]);
        for (std::size_t c = 0; c < C; ++c) {
            const double uc = static_cast<double>(u[offset + c]);
            const double covariance = cross[c] - occupancy[c] * expected_u;
            out[offset + c] = static_cast<T>(g * (probs[c] * (uc - y_dot_u) - covariance));
            d_scale += (probs[c] - occupancy[c]) * uc;
        }
        if (t == 0) break;
        for (std::size_t s = 0; s < S; ++s) {
            const double emitted = probs[st.labels[s]];
            next[s] = beta[s] * emitted;
            next_dot[s] = (beta_dot[s] + beta[s] * u_at(t, s)) * emitted;
        }
        const double inverse_total = 1 / rescale(next, S);
        for (std::size_t s = 0; s < S; ++s) next_dot[s] *= inverse_total;
    }
    return d_scale;
}

// What the forward keeps for the backward: per sample, whether the scaled
// recursion held (else the backward reruns it in log space), its T_n x S_n scaled
// alphas, their T_n totals and its T_n x C softmax (the backward's emissions and
// the gradient's first term).
struct ScaledForward {
    std::vector<std::uint8_t> held;
    std::vector<std::size_t> alpha_offset;
    std::vector<std::size_t> frame_offset;
    // Uninitialised (every value read is written first): megabytes at T=200, N=64.
    std::unique_ptr<double[]> alpha;
    std::unique_ptr<double[]> totals;
    std::unique_ptr<double[]> softmax;

    const double* alpha_of(std::size_t n) const { return alpha.get() + alpha_offset[n]; }
    const double* totals_of(std::size_t n) const { return totals.get() + frame_offset[n]; }
    const double* softmax_of(std::size_t n, std::size_t classes) const {
        return softmax.get() + frame_offset[n] * classes;
    }
};

// Zeroes the frames of sample n from `from` on (its unused frames, or all of them).
template <class T>
void zero_frames(const SampleFrames<T>& x, T* grad_base, std::size_t from, std::size_t frames) {
    for (std::size_t t = from; t < frames; ++t) std::fill_n(grad_base + t * x.stride, x.classes, T(0));
}

// The work of one sample's recursions, for sharing the samples out between threads.
std::size_t sample_work(const CtcAlignment& a) { return a.frames * (a.classes + a.states); }

void check_matches(const Shape& shape, const CtcAlignment& a) {
    const bool time_major = a.layout == CtcLayout::TNC;
    const Shape expected = time_major ? Shape{a.frames, a.batch, a.classes} : Shape{a.batch, a.frames, a.classes};
    if (shape != expected) {
        throw ShapeError(fmt::format("ctc_nll: activations of shape {} do not match the alignment's {} {}",
                                     to_string(shape), time_major ? "(T, N, C)" : "(N, T, C)",
                                     to_string(expected)));
    }
}

// Writes the gradient g_n (softmax - occupancy) of every sample into `grad`,
// laid out as the activations x, exactly 0 past T_n and for samples giving 0
// (so NaN there never leaks). Returns true when every sample ran in the scaled
// domain (none in log space).
template <class T>
bool write_gradient(const CtcAlignment& a, const ScaledForward& kept, const T* x, const T* g, T* grad) {
    std::vector<std::uint8_t> scaled(a.batch, 1);
    kernels::parallel_for(a.batch, sample_work(a), [&](std::size_t begin, std::size_t end) {
        std::vector<double> work;
        for (std::size_t n = begin; n < end; ++n) {
            const SampleFrames<T> sample = frames_of(x, a, n);
            T* out = grad + (sample.base - x);
            const std::size_t used = a.contributes(n) ? a.frame_counts[n] : 0;
            zero_frames(sample, out, used, a.frames);
            if (used == 0) continue;
            scaled[n] = kept.held[n] && scaled_gradient(sample, states_of(a, n), kept.alpha_of(n),
                                                        kept.softmax_of(n, a.classes), out, g[n], work);
            if (!scaled[n]) Lattice<T>(sample, a, n).gradient(sample, out, g[n]);
        }
    });
    return std::ranges::all_of(scaled, [](std::uint8_t held) { return held != 0; });
}

// d/dx (sum_n g_n nll_n) as one node on (x, g), for a forward whose every
// sample ran in the scaled domain. Its backward is H u per sample
// (scaled_hessian_product) and d/dg_n = <softmax - occupancy, u>; differentiated
// again, it is the composed recursion's gradient, recorded whole.
template <class T>
Var<T> ctc_gradient(const Var<T>& x, const Var<T>& g, xt::xarray<T>&& value,
                    std::shared_ptr<const CtcAlignment> alignment, std::shared_ptr<const ScaledForward> kept) {
    return x.tape().record("ctc_nll_gradient", {x, g}, std::move(value), [alignment, kept](GradContext<T>& c) {
        const CtcAlignment& a = *alignment;
        const T* x = c.input(0).data();
        const T* g = c.input(1).data();
        const T* u = c.grad().data();
        xt::xarray<T> dx = c.buffer(c.input(0).shape());
        xt::xarray<T> dg = c.buffer(c.input(1).shape());
        kernels::parallel_for(a.batch, 3 * sample_work(a), [&](std::size_t begin, std::size_t end) {
            std::vector<double> work;
            for (std::size_t n = begin; n < end; ++n) {
                const SampleFrames<T> sample = frames_of(x, a, n);
                const std::size_t offset = sample.base - x;
                const std::size_t used = a.contributes(n) ? a.frame_counts[n] : 0;
                zero_frames(sample, dx.data() + offset, used, a.frames);
                dg(n) = used == 0 ? T(0)
                                  : static_cast<T>(scaled_hessian_product(
                                        sample, u + offset, states_of(a, n), kept->alpha_of(n), kept->totals_of(n),
                                        kept->softmax_of(n, a.classes), dx.data() + offset, g[n], work));
            }
        });
        if (c.needs_grad(0)) c.accumulate(0, std::move(dx));
        if (c.needs_grad(1)) c.accumulate(1, std::move(dg));
    }, [alignment](VarGradContext<T>& c) {
        detail::backward_by_recomposition(c, [&](std::span<const Var<T>> in) {
            Tape<T>& tape = in[0].tape();
            const auto floor = static_cast<std::uint32_t>(tape.size());
            const Var<T> nll = ctc_nll_composed(in[0], *alignment);
            return tape.gradients(nll, in[1], in.first(1), floor).front();
        });
    });
}

}  // namespace

template <class T>
Var<T> ctc_nll(const Var<T>& activations, std::shared_ptr<const CtcAlignment> alignment) {
    Tape<T>& tape = detail::tape_of(activations, "ctc_nll");
    const CtcAlignment& a = *alignment;
    check_matches(activations.shape(), a);
    const T* x = activations.value().data();
    auto kept = std::make_shared<ScaledForward>();
    kept->held.assign(a.batch, 0);
    kept->alpha_offset.assign(a.batch, 0);
    kept->frame_offset.assign(a.batch, 0);
    std::size_t alphas = 0;
    std::size_t frames = 0;
    for (std::size_t n = 0; n < a.batch; ++n) {
        kept->alpha_offset[n] = alphas;
        kept->frame_offset[n] = frames;
        if (!a.contributes(n)) continue;
        alphas += a.frame_counts[n] * a.states_of(n);
        frames += a.frame_counts[n];
    }
    kept->alpha = std::make_unique_for_overwrite<double[]>(alphas);
    kept->totals = std::make_unique_for_overwrite<double[]>(frames);
    kept->softmax = std::make_unique_for_overwrite<double[]>(frames * a.classes);
    xt::xarray<T> nll = xt::zeros<T>({a.batch});
    // Each sample alone, on the threads' share of the samples.
    kernels::parallel_for(a.batch, sample_work(a), [&](std::size_t begin, std::size_t end) {
        std::vector<double> work;
        for (std::size_t n = begin; n < end; ++n) {
            if (!a.contributes(n)) continue;
            const SampleFrames<T> sample = frames_of(x, a, n);
            const std::optional<double> log_p =
                scaled_alpha(sample, states_of(a, n), kept->alpha.get() + kept->alpha_offset[n],
                             kept->totals.get() + kept->frame_offset[n],
                             kept->softmax.get() + kept->frame_offset[n] * a.classes, work);
            kept->held[n] = log_p.has_value();
            nll(n) = static_cast<T>(log_p ? -*log_p : -Lattice<T>(sample, a, n).log_likelihood());
        }
    });
    return tape.record("ctc_nll", {activations}, std::move(nll), [alignment, kept](GradContext<T>& c) {
        xt::xarray<T> grad = c.buffer(c.input(0).shape());
        write_gradient(*alignment, *kept, c.input(0).data(), c.grad().data(), grad.data());
        c.accumulate(0, std::move(grad));
    }, [alignment, kept](VarGradContext<T>& c) {
        // The gradient as one node when every sample ran in the scaled domain;
        // else the composed recursion (logsumexp over the lattice's states), recorded whole.
        const Var<T> x = c.input(0);
        const Var<T> g = c.grad();
        xt::xarray<T> grad = c.tape().buffer(x.shape());
        if (write_gradient(*alignment, *kept, x.value().data(), g.value().data(), grad.data())) {
            return c.accumulate(0, ctc_gradient(x, g, std::move(grad), alignment, kept));
        }
        detail::backward_by_recomposition(
            c, [&](std::span<const Var<T>> in) { return ctc_nll_composed(in[0], *alignment); });
    });
}

template Var<float> ctc_nll(const Var<float>&, std::shared_ptr<const CtcAlignment>);
template Var<double> ctc_nll(const Var<double>&, std::shared_ptr<const CtcAlignment>);

}  // namespace xtape
