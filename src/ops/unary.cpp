// Elementwise unary ops: each one rule of rules/elementwise.hpp, recorded by
// ops/elementwise.hpp; and where(mask, a, b).
#include <algorithm>

#include <xtensor/xoperation.hpp>

#include "../kernels/elementwise.hpp"
#include "elementwise.hpp"
#include "xtape/ops.hpp"

namespace xtape {

using detail::record_unary;
using kernels::mapped;
using detail::tape_of;

template <class T> Var<T> neg(const Var<T>& a) { return record_unary<rules::Neg>(a); }
template <class T> Var<T> exp(const Var<T>& a) { return record_unary<rules::Exp>(a); }
template <class T> Var<T> log(const Var<T>& a) { return record_unary<rules::Log>(a); }
template <class T> Var<T> log1p(const Var<T>& a) { return record_unary<rules::Log1p>(a); }
template <class T> Var<T> sqrt(const Var<T>& a) { return record_unary<rules::Sqrt>(a); }
template <class T> Var<T> square(const Var<T>& a) { return record_unary<rules::Square>(a); }
template <class T> Var<T> pow(const Var<T>& a, std::type_identity_t<T> p) { return record_unary<rules::PowScalar>(a, {p}); }
template <class T> Var<T> abs(const Var<T>& a) { return record_unary<rules::Abs>(a); }
template <class T> Var<T> sign(const Var<T>& a) { return record_unary<rules::Sign>(a); }
template <class T> Var<T> relu(const Var<T>& a) { return record_unary<rules::Relu>(a); }
template <class T> Var<T> step(const Var<T>& a) { return record_unary<rules::Step>(a); }
template <class T> Var<T> sigmoid(const Var<T>& a) { return record_unary<rules::Sigmoid>(a); }
template <class T> Var<T> tanh(const Var<T>& a) { return record_unary<rules::Tanh>(a); }
template <class T> Var<T> softplus(const Var<T>& a) { return record_unary<rules::Softplus>(a); }
template <class T> Var<T> log_sigmoid(const Var<T>& a) { return record_unary<rules::LogSigmoid>(a); }
template <class T> Var<T> sin(const Var<T>& a) { return record_unary<rules::Sin>(a); }
template <class T> Var<T> cos(const Var<T>& a) { return record_unary<rules::Cos>(a); }
template <class T> Var<T> erf(const Var<T>& a) { return record_unary<rules::Erf>(a); }
template <class T> Var<T> normal_cdf(const Var<T>& a) { return record_unary<rules::NormalCdf>(a); }
template <class T> Var<T> gelu(const Var<T>& a) { return record_unary<rules::Gelu>(a); }
template <class T>
Var<T> smooth_l1(const Var<T>& a, std::type_identity_t<T> rho) {
    return record_unary<rules::SmoothL1>(a, {rho});
}
template <class T>
Var<T> clip(const Var<T>& a, std::type_identity_t<T> lo, std::type_identity_t<T> hi) {
    return record_unary<rules::Clip>(a, {lo, hi});
}
template <class T>
Var<T> inside(const Var<T>& a, std::type_identity_t<T> lo, std::type_identity_t<T> hi) {
    return record_unary<rules::Inside>(a, {lo, hi});
}
template <class T>
Var<T> leaky_relu(const Var<T>& a, std::type_identity_t<T> slope) {
    return record_unary<rules::LeakyRelu>(a, {slope});
}
template <class T>
Var<T> leaky_slope(const Var<T>& a, std::type_identity_t<T> slope) {
    return record_unary<rules::LeakySlope>(a, {slope});
}
template <class T> Var<T> elu(const Var<T>& a, std::type_identity_t<T> alpha) { return record_unary<rules::Elu>(a, {alpha}); }
template <class T>
Var<T> elu_slope(const Var<T>& a, std::type_identity_t<T> alpha) {
    return record_unary<rules::EluSlope>(a, {alpha});
}

template <class T>
Var<T> where(const Mask& mask, const Var<T>& a, const Var<T>& b) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = tape_of(a, b, "where");
    const Shape ab = broadcast_shapes(a.shape(), b.shape(), "where", "a", "b");
    broadcast_shapes(ab, mask.shape(), "where", "a and b", "mask");
    // xtensor 0.24 with xsimd 8 selects wrongly when xt::where reads a stored
    // bool array (float and double alike), so the mask is turned into T once
    // (1 where it holds, else 0) and compared: a comparison of T values gives
    // xsimd a proper mask of T. One plain pass over the bools does it. The
    // tape keeps it for the backward until clear().
    xt::xarray<T>& selector = tape.keep(tape.buffer(mask.shape()));
    std::transform(mask.data(), mask.data() + mask.size(), selector.data(), [](bool m) { return T(m); });
    const bool flat = kernels::shapes_agree(selector, a.value(), b.value());
    auto pick = [zero = B(T(0))](B m, B x, B y) { return xsimd::select(m != zero, x, y); };
    xt::xarray<T> out = flat ? mapped<T>(tape, pick, selector, a.value(), b.value())
                             : xt::xarray<T>(xt::where(xt::not_equal(selector, T(0)), a.value(), b.value()));
    const xt::xarray<T>* kept = &selector;
    return tape.record("where", {a, b}, std::move(out), [flat, kept](GradContext<T>& c) {
        const xt::xarray<T>& selector = *kept;
        // The gradient flows to a where the mask holds, to b elsewhere.
        const auto& g = c.grad();
        if (flat) {
            auto to_a = [zero = B(T(0))](B m, B dy) { return xsimd::select(m != zero, dy, zero); };
            auto to_b = [zero = B(T(0))](B m, B dy) { return xsimd::select(m != zero, zero, dy); };
            if (c.needs_grad(0)) c.accumulate(0, mapped<T>(c, to_a, selector, g));
            if (c.needs_grad(1)) c.accumulate(1, mapped<T>(c, to_b, selector, g));
        } else {
            if (c.needs_grad(0)) c.accumulate(0, xt::where(xt::not_equal(selector, T(0)), g, T(0)));
            if (c.needs_grad(1)) c.accumulate(1, xt::where(xt::not_equal(selector, T(0)), T(0), g));
        }
    }, [kept](VarGradContext<T>& c) {
        const Mask mask = xt::not_equal(*kept, T(0));
        const Var<T>& g = c.grad();
        const Var<T> zeros = c.tape().constant(xt::zeros<T>(g.shape()));
        if (c.needs_grad(0)) c.accumulate(0, where(mask, g, zeros));
        if (c.needs_grad(1)) c.accumulate(1, where(mask, zeros, g));
    });
}

#define XTAPE_INSTANTIATE(T)                                             \
    template Var<T> neg(const Var<T>&);                                  \
    template Var<T> exp(const Var<T>&);                                  \
    template Var<T> log(const Var<T>&);                                  \
    template Var<T> log1p(const Var<T>&);                                \
    template Var<T> sqrt(const Var<T>&);                                 \
    template Var<T> square(const Var<T>&);                               \
    template Var<T> pow(const Var<T>&, T);                               \
    template Var<T> abs(const Var<T>&);                                  \
    template Var<T> sign(const Var<T>&);                                 \
    template Var<T> relu(const Var<T>&);                                 \
    template Var<T> step(const Var<T>&);                                 \
    template Var<T> sigmoid(const Var<T>&);                              \
    template Var<T> tanh(const Var<T>&);                                 \
    template Var<T> softplus(const Var<T>&);                             \
    template Var<T> log_sigmoid(const Var<T>&);                          \
    template Var<T> sin(const Var<T>&);                                  \
    template Var<T> cos(const Var<T>&);                                  \
    template Var<T> erf(const Var<T>&);                                  \
    template Var<T> normal_cdf(const Var<T>&);                           \
    template Var<T> gelu(const Var<T>&);                                 \
    template Var<T> smooth_l1(const Var<T>&, T);                         \
    template Var<T> clip(const Var<T>&, T, T);                           \
    template Var<T> inside(const Var<T>&, T, T);                         \
    template Var<T> leaky_relu(const Var<T>&, T);                        \
    template Var<T> leaky_slope(const Var<T>&, T);                       \
    template Var<T> elu(const Var<T>&, T);                               \
    template Var<T> elu_slope(const Var<T>&, T);                         \
    template Var<T> where(const Mask&, const Var<T>&, const Var<T>&);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
