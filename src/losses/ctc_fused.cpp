// The fused CTC op: alpha and beta recursions in log space, one tape node (warp-ctc's scheme).
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "xtape/detail/op_support.hpp"
#include "xtape/losses/ctc_nll.hpp"

namespace xtape {

namespace {

// The recursions run in double for both T: float inputs then agree with double ones.
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

void check_matches(const Shape& shape, const CtcAlignment& a) {
    const bool time_major = a.layout == CtcLayout::TNC;
    const Shape expected = time_major ? Shape{a.frames, a.batch, a.classes} : Shape{a.batch, a.frames, a.classes};
    if (shape != expected) {
        throw ShapeError(fmt::format("ctc_nll: activations of shape {} do not match the alignment's {} {}",
                                     to_string(shape), time_major ? "(T, N, C)" : "(N, T, C)",
                                     to_string(expected)));
    }
}

}  // namespace

template <class T>
Var<T> ctc_nll(const Var<T>& activations, std::shared_ptr<const CtcAlignment> alignment) {
    Tape<T>& tape = detail::tape_of(activations, "ctc_nll");
    const CtcAlignment& a = *alignment;
    check_matches(activations.shape(), a);
    const T* x = activations.value().data();
    xt::xarray<T> nll = xt::zeros<T>({a.batch});
    for (std::size_t n = 0; n < a.batch; ++n) {
        if (a.contributes(n)) nll(n) = static_cast<T>(-Lattice<T>(frames_of(x, a, n), a, n).log_likelihood());
    }
    return tape.record("ctc_nll", {activations}, std::move(nll), [alignment](GradContext<T>& c) {
        const CtcAlignment& a = *alignment;
        const T* x = c.input(0).data();
        xt::xarray<T> grad = xt::zeros<T>(c.input(0).shape());  // 0 past T_n and for samples giving 0
        for (std::size_t n = 0; n < a.batch; ++n) {
            if (!a.contributes(n)) continue;
            const SampleFrames<T> frames = frames_of(x, a, n);
            Lattice<T>(frames, a, n).gradient(frames, grad.data() + (frames.base - x), c.grad()(n));
        }
        c.accumulate(0, std::move(grad));
    });
}

template Var<float> ctc_nll(const Var<float>&, std::shared_ptr<const CtcAlignment>);
template Var<double> ctc_nll(const Var<double>&, std::shared_ptr<const CtcAlignment>);

}  // namespace xtape
