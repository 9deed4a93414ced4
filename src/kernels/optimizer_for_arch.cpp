// The optimizers' parameter updates over xsimd batches of instruction set
// XTAPE_KERNEL_ARCH; meson compiles this file once per instruction set, each
// time with that set's -m flags (as math_for_arch.cpp).
#include "optimizer_arch.hpp"

#include "simd_loop.hpp"

#ifndef XTAPE_KERNEL_ARCH
#error "XTAPE_KERNEL_ARCH names the xsimd instruction set to compile for (meson sets it)"
#endif

namespace xtape::kernels::optimizer {

namespace {

using Arch = XTAPE_KERNEL_ARCH;

template <class T>
using B = Batch<T, Arch>;

// The tail of an array shorter than a batch, copied into a zero-padded batch
// buffer and back, so that it goes through the same instructions as the rest.
template <class T>
struct Tail {
    alignas(64) T lanes[B<T>::size] = {};
    Tail(const T* from, std::size_t count) {
        if (from != nullptr) {
            for (std::size_t j = 0; j < count; ++j) lanes[j] = from[j];
        }
    }
    void store(T* to, std::size_t count) const {
        for (std::size_t j = 0; j < count; ++j) to[j] = lanes[j];
    }
};

// update(g, w, s) for each batch of w and of the state array s (velocity, or
// Adam's m and v side by side), reading and writing through the pointers it is
// given; the last partial batch through Tail copies. A null g is a zero
// gradient: update receives nullptr and must not read it.
template <class T, class Update>
[[gnu::flatten]] void each_batch(std::size_t n, Update update, const T* g, T* w, T* s0, T* s1) {
    constexpr std::size_t width = B<T>::size;
    std::size_t i = 0;
    for (; i + width <= n; i += width) {
        update(g == nullptr ? nullptr : g + i, w + i, s0 == nullptr ? nullptr : s0 + i,
               s1 == nullptr ? nullptr : s1 + i);
    }
    if (i == n) return;
    const std::size_t rest = n - i;
    const Tail<T> tg(g == nullptr ? nullptr : g + i, rest);
    Tail<T> tw(w + i, rest);
    Tail<T> t0(s0 == nullptr ? nullptr : s0 + i, rest);
    Tail<T> t1(s1 == nullptr ? nullptr : s1 + i, rest);
    update(g == nullptr ? nullptr : tg.lanes, tw.lanes, t0.lanes, t1.lanes);
    tw.store(w + i, rest);
    if (s0 != nullptr) t0.store(s0 + i, rest);
    if (s1 != nullptr) t1.store(s1 + i, rest);
}

// The gradient batch at g (with weight decay added), or only the decay term
// for a null g. Each combination is its own instantiation, so that the loop
// holds no test of the options: has_grad, decay and momentum are constants.
template <bool has_grad, bool decay, class T>
B<T> decayed_gradient(const T* g, B<T> w, B<T> weight_decay) {
    if constexpr (has_grad && decay) return B<T>::load_unaligned(g) + weight_decay * w;
    else if constexpr (has_grad) return B<T>::load_unaligned(g);
    else if constexpr (decay) return weight_decay * w;
    else return B<T>(T(0));
}

template <bool has_grad, bool decay, bool momentum, class T>
void sgd_pass(const SgdStep<T>& step, std::size_t n, T* w, const T* g, T* velocity) {
    if constexpr (!has_grad && !decay && !momentum) return;  // w - rate * 0: nothing moves
    const B<T> rate(step.rate), mu(step.momentum), weight_decay(step.weight_decay);
    each_batch<T>(
        n,
        [&](const T* gb, T* wb, T* vb, T*) {
            B<T> wv = B<T>::load_unaligned(wb);
            const B<T> d = decayed_gradient<has_grad, decay, T>(gb, wv, weight_decay);
            if constexpr (momentum) {
                const B<T> v = mu * B<T>::load_unaligned(vb) + d;
                v.store_unaligned(vb);
                wv = wv - rate * v;
            } else {
                wv = wv - rate * d;
            }
            wv.store_unaligned(wb);
        },
        g, w, velocity, nullptr);
}

template <bool has_grad, bool l2, bool decoupled, class T>
void adam_pass(const AdamStep<T>& step, std::size_t n, T* w, const T* g, T* m, T* v) {
    const B<T> one_minus_beta1(step.one_minus_beta1), beta2(step.beta2), one_minus_beta2(step.one_minus_beta2),
        step_size(step.step_size), root_correction2(step.root_correction2), epsilon(step.epsilon), decay(step.l2),
        keep(step.keep);
    each_batch<T>(
        n,
        [&](const T* gb, T* wb, T* mb, T* vb) {
            B<T> wv = B<T>::load_unaligned(wb);
            const B<T> d = decayed_gradient<has_grad, l2, T>(gb, wv, decay);
            if constexpr (decoupled) wv = keep * wv;
            B<T> mv = B<T>::load_unaligned(mb);
            mv = mv + one_minus_beta1 * (d - mv);
            const B<T> vv = beta2 * B<T>::load_unaligned(vb) + one_minus_beta2 * d * d;
            wv = wv - step_size * (mv / (xsimd::sqrt(vv) / root_correction2 + epsilon));
            mv.store_unaligned(mb);
            vv.store_unaligned(vb);
            wv.store_unaligned(wb);
        },
        g, w, m, v);
}

// f.template operator()<a, b, c>() for the run-time flags a, b and c.
template <class F>
void with_flags(bool a, bool b, bool c, F f) {
    const auto third = [&]<bool x, bool y>() {
        if (c) return f.template operator()<x, y, true>();
        f.template operator()<x, y, false>();
    };
    const auto second = [&]<bool x>() {
        if (b) return third.template operator()<x, true>();
        third.template operator()<x, false>();
    };
    if (a) return second.template operator()<true>();
    second.template operator()<false>();
}

}  // namespace

// The members are written for ArchOptimizer<A, T> but instantiated (at the
// end) only for A = Arch, the instruction set this object is compiled for.

template <class A, class T>
void ArchOptimizer<A, T>::sgd(const SgdStep<T>& step, std::size_t n, T* w, const T* g, T* velocity) {
    const bool has_grad = g != nullptr, decay = step.weight_decay != T(0), momentum = velocity != nullptr;
    with_flags(has_grad, decay, momentum, [&]<bool with_grad, bool with_decay, bool with_momentum>() {
        sgd_pass<with_grad, with_decay, with_momentum>(step, n, w, g, velocity);
    });
    clean_upper_state<Arch>();
}

template <class A, class T>
void ArchOptimizer<A, T>::adam(const AdamStep<T>& step, std::size_t n, T* w, const T* g, T* m, T* v) {
    with_flags(g != nullptr, step.l2 != T(0), step.keep != T(1), [&]<bool has_grad, bool l2, bool decoupled>() {
        adam_pass<has_grad, l2, decoupled>(step, n, w, g, m, v);
    });
    clean_upper_state<Arch>();
}

template struct ArchOptimizer<Arch, float>;
template struct ArchOptimizer<Arch, double>;

}  // namespace xtape::kernels::optimizer
