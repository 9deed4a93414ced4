// The dispatched kernels return with the upper halves of the vector registers
// clean: after AVX code left them dirty, every SSE instruction of the caller
// slows down (logsumexp of 32 x 10 floats took 3x as long with GCC 12).
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../src/kernels/math.hpp"
#include "../src/kernels/optimizer.hpp"
#include "../src/rules/kernels.hpp"
#include "support/sanitizer.hpp"
#include "xtape/xtape.hpp"

#if defined(__x86_64__)
#include <cpuid.h>

namespace {

// The property is one of the code GCC generates for a release build: the
// sanitizers' instrumentation changes where it puts vzeroupper (ASan's build
// left softmax_rows dirty), and their builds are not for speed.
using xtape::test::under_sanitizer;

// Whether XGETBV with ECX = 1 (the XINUSE bitmap) is available.
bool can_read_state_in_use() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(0xD, 1, &eax, &ebx, &ecx, &edx)) return false;
    return (eax & (1u << 2)) != 0;
}

// Whether the upper halves of ymm0-15 or of zmm0-15 are in use (XINUSE bits 2 and 6).
bool upper_state_dirty() {
    std::uint32_t low = 0, high = 0;
    asm volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(1));
    return (low & ((1u << 2) | (1u << 6))) != 0;
}

}  // namespace

TEST_CASE("every dispatched kernel returns with the upper vector state clean") {
    if (!can_read_state_in_use()) {
        MESSAGE("this CPU cannot report the vector state in use (XGETBV 1): not checked");
        return;
    }
    if (under_sanitizer) {
        MESSAGE("vector state not checked under a sanitizer (its instrumentation moves vzeroupper)");
        return;
    }
    namespace math = xtape::kernels::math;
    namespace optimizer = xtape::kernels::optimizer;
    using xtape::rules::Op;
    const xtape::rules::Kernels<float>& rules = xtape::rules::best_kernels<float>();
    for (const std::size_t n : {std::size_t(10), std::size_t(1000)}) {
        CAPTURE(n);
        const std::size_t rows = 4;
        std::vector<float> x(rows * n, 0.5f), g(rows * n, 1.0f), out(rows * n), shift(rows), total(rows);
        std::vector<float> moment(rows * n, 0.0f), second(rows * n, 1.0f);
        const std::vector<std::pair<std::string, std::function<void()>>> kernels = {
            {"exp", [&] { rules.apply(Op::exp, {}, x.size(), x.data(), nullptr, out.data()); }},
            {"softplus", [&] { rules.apply(Op::softplus, {}, x.size(), x.data(), nullptr, out.data()); }},
            {"softplus slope",
             [&] { rules.apply_with_slope(Op::softplus, {}, x.size(), x.data(), out.data(), g.data()); }},
            {"softplus derivative",
             [&] { rules.derivative(Op::softplus, {}, 0, x.size(), g.data(), x.data(), nullptr, nullptr, nullptr,
                                    out.data()); }},
            {"log_softmax_rows", [&] { math::log_softmax_rows(x.data(), out.data(), rows, n); }},
            {"log_softmax_grad_rows", [&] { math::log_softmax_grad_rows(g.data(), x.data(), out.data(), rows, n); }},
            {"softmax_rows", [&] { math::softmax_rows(x.data(), out.data(), rows, n); }},
            {"softmax_grad_rows", [&] { math::softmax_grad_rows(g.data(), x.data(), out.data(), rows, n); }},
            {"shifted_sum_exp_rows", [&] { math::shifted_sum_exp_rows(x.data(), rows, n, shift.data(), total.data()); }},
            {"scaled_exp_rows", [&] { math::scaled_exp_rows(x.data(), shift.data(), total.data(), rows, n, out.data()); }},
            {"optimizer::sgd", [&] {
                 optimizer::sgd<float>({0.1f, 0.9f, 0.01f}, x.size(), out.data(), g.data(), moment.data());
             }},
            {"optimizer::adam", [&] {
                 optimizer::adam<float>({0.1f, 0.999f, 0.001f, 0.01f, 0.5f, 1e-8f, 0.f, 0.99f}, x.size(), out.data(),
                                        g.data(), moment.data(), second.data());
             }},
            {"fuse_mean", [&] {
                 xtape::Tape<float> tape;
                 const auto a = tape.leaf(xt::xarray<float>(xt::ones<float>({rows, n})));
                 tape.backward(xtape::sum(xtape::fuse_mean({a}, [](auto v) { return softplus(v[0]) * v[0]; }, {1})));
             }},
        };
        for (const auto& [name, run] : kernels) {
            CAPTURE(name);
            run();
            CHECK_FALSE(upper_state_dirty());
        }
    }
}

#endif
