// The optimizers' update kernels (src/kernels/optimizer.hpp) in every
// instruction set they are compiled for that this CPU runs, against the same
// formulas in scalar code: the kernels use no fused multiply-add, so every
// element must come out bit for bit as the scalar formula gives it, at every
// tail length and for every combination of options.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "../src/kernels/cpu_features.hpp"
#include "../src/kernels/optimizer_arch.hpp"

using namespace xtape::kernels::optimizer;

namespace {

// Values in about [-2, 2] from a fixed recurrence, none of them zero.
template <class T>
std::vector<T> values(std::size_t n, unsigned seed) {
    std::vector<T> v(n);
    unsigned state = seed;
    for (auto& x : v) {
        state = state * 1103515245u + 12345u;
        x = static_cast<T>(static_cast<int>((state >> 8) % 4001) - 2000) / T(1000) + T(0.0005);
    }
    return v;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// The gradient with the L2 term, as the kernels form it.
template <class T>
T decayed(const T* g, std::size_t i, T w, T weight_decay) {
    if (g != nullptr && weight_decay != T(0)) return g[i] + weight_decay * w;
    if (g != nullptr) return g[i];
    if (weight_decay != T(0)) return weight_decay * w;
    return T(0);
}

template <class T>
void sgd_reference(const SgdStep<T>& s, std::size_t n, T* w, const T* g, T* velocity) {
    for (std::size_t i = 0; i < n; ++i) {
        const T d = decayed(g, i, w[i], s.weight_decay);
        if (velocity != nullptr) {
            velocity[i] = s.momentum * velocity[i] + d;
            w[i] = w[i] - s.rate * velocity[i];
        } else {
            w[i] = w[i] - s.rate * d;
        }
    }
}

template <class T>
void adam_reference(const AdamStep<T>& s, std::size_t n, T* w, const T* g, T* m, T* v) {
    for (std::size_t i = 0; i < n; ++i) {
        const T d = decayed(g, i, w[i], s.l2);
        if (s.keep != T(1)) w[i] = s.keep * w[i];
        m[i] = m[i] + s.one_minus_beta1 * (d - m[i]);
        v[i] = s.beta2 * v[i] + s.one_minus_beta2 * d * d;
        w[i] = w[i] - s.step_size * (m[i] / (std::sqrt(v[i]) / s.root_correction2 + s.epsilon));
    }
}

template <class A, class T>
void check_instruction_set(bool runs) {
    if (!runs) {
        MESSAGE(A::name(), ": this CPU does not run it, not checked");
        return;
    }
    std::vector<std::size_t> lengths = {1000};
    for (std::size_t n = 1; n <= 40; ++n) lengths.push_back(n);
    for (const std::size_t n : lengths) {
        const std::vector<T> g = values<T>(n, 1), w0 = values<T>(n, 2), s0 = values<T>(n, 3);
        // v must be >= 0, as Adam keeps it.
        std::vector<T> v0 = values<T>(n, 4);
        for (auto& x : v0) x = x * x;
        for (const bool with_grad : {true, false}) {
            const T* gp = with_grad ? g.data() : nullptr;
            for (const T decay : {T(0), T(0.01)}) {
                for (const T momentum : {T(0), T(0.9)}) {
                    CAPTURE(A::name());
                    CAPTURE(n);
                    CAPTURE(with_grad);
                    CAPTURE(decay);
                    CAPTURE(momentum);
                    const SgdStep<T> step{T(0.05), momentum, decay};
                    std::vector<T> w = w0, velocity = s0, want_w = w0, want_velocity = s0;
                    T* vp = momentum != T(0) ? velocity.data() : nullptr;
                    T* want_vp = momentum != T(0) ? want_velocity.data() : nullptr;
                    ArchOptimizer<A, T>::sgd(step, n, w.data(), gp, vp);
                    sgd_reference(step, n, want_w.data(), gp, want_vp);
                    CHECK(same_bits(w, want_w));
                    CHECK(same_bits(velocity, want_velocity));
                }
                for (const bool decoupled : {false, true}) {
                    CAPTURE(A::name());
                    CAPTURE(n);
                    CAPTURE(with_grad);
                    CAPTURE(decay);
                    CAPTURE(decoupled);
                    // Step 3 of lr 0.01, beta1 0.9, beta2 0.999.
                    const AdamStep<T> step{.one_minus_beta1 = T(0.1),
                                           .beta2 = T(0.999),
                                           .one_minus_beta2 = T(0.001),
                                           .step_size = T(0.01 / (1 - 0.9 * 0.9 * 0.9)),
                                           .root_correction2 = T(std::sqrt(1 - 0.999 * 0.999 * 0.999)),
                                           .epsilon = T(1e-8),
                                           .l2 = decoupled ? T(0) : decay,
                                           .keep = decoupled ? T(1 - 0.01 * decay) : T(1)};
                    std::vector<T> w = w0, m = s0, v = v0, want_w = w0, want_m = s0, want_v = v0;
                    ArchOptimizer<A, T>::adam(step, n, w.data(), gp, m.data(), v.data());
                    adam_reference(step, n, want_w.data(), gp, want_m.data(), want_v.data());
                    CHECK(same_bits(w, want_w));
                    CHECK(same_bits(m, want_m));
                    CHECK(same_bits(v, want_v));
                }
            }
        }
    }
}

}  // namespace

TEST_CASE_TEMPLATE("optimizer kernels: every compiled instruction set the CPU runs gives the scalar formulas' bits",
                   T, float, double) {
    using xtape::kernels::cpu_features;
#if defined(__x86_64__)
    check_instruction_set<xsimd::sse2, T>(true);
    check_instruction_set<xsimd::fma3<xsimd::avx2>, T>(cpu_features().avx2_fma);
    check_instruction_set<xsimd::avx512bw, T>(cpu_features().avx512);
#else
    check_instruction_set<xsimd::default_arch, T>(true);
#endif
}
