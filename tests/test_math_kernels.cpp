// The transcendental kernels, elementwise (the rules' kernels, src/rules/kernels.hpp)
// and over rows (src/kernels/math.hpp), in every instruction set they are
// compiled for that this CPU runs (the ops only reach the widest one), against
// long double references, at every tail length.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "../src/kernels/cpu_features.hpp"
#include "../src/kernels/math_arch.hpp"
#include "../src/rules/kernels.hpp"
#include "xtape/instruction_set.hpp"

using xtape::kernels::CpuFeatures;
using xtape::kernels::cpu_features;
using xtape::kernels::math::ArchMath;
using xtape::rules::Op;

namespace {

using Reference = std::function<long double(long double)>;

// n values evenly spread over [lo, hi], both ends included.
template <class T>
std::vector<T> spread(T lo, T hi, std::size_t n) {
    std::vector<T> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * static_cast<T>(i) / static_cast<T>(n - 1);
    return v;
}

// Within `ulps` units of T's epsilon of the reference, relative to
// max(|reference|, scale).
template <class T>
void check_close(const std::vector<T>& got, const std::vector<long double>& want, double ulps, long double scale,
                 const std::string& what) {
    const long double eps = std::numeric_limits<T>::epsilon();
    for (std::size_t i = 0; i < got.size(); ++i) {
        CAPTURE(what);
        CAPTURE(i);
        CAPTURE(static_cast<double>(want[i]));
        const long double bound = ulps * eps * std::max(std::fabs(want[i]), scale);
        CHECK(std::fabs(static_cast<long double>(got[i]) - want[i]) <= bound);
    }
}

// kernel(x) against f(x) elementwise, for the lengths 1 to 40 (every tail
// length of every batch width) and for all of x.
template <class T, class Kernel>
void check_elementwise(Kernel kernel, const Reference& f, const std::vector<T>& x, double ulps,
                       const std::string& what) {
    std::vector<std::size_t> lengths = {x.size()};
    for (std::size_t n = 1; n <= 40; ++n) lengths.push_back(n);
    for (const std::size_t n : lengths) {
        std::vector<T> out(n);
        kernel(x.data(), out.data(), n);
        std::vector<long double> want(n);
        for (std::size_t i = 0; i < n; ++i) want[i] = f(x[i]);
        check_close(out, want, ulps, std::numeric_limits<T>::min(), what + " n=" + std::to_string(n));
    }
}

// softplus' value and slope from one exp are bit for bit what softplus and
// sigmoid give, at every tail length, infinities included; NaN for NaN (which
// NaN an operation returns when both operands are NaN depends on their order,
// which the compiler may swap).
template <class A, class T>
void check_softplus_and_sigmoid() {
    using K = xtape::rules::ArchKernels<A, T>;
    std::vector<T> x = spread<T>(-100, 100, 2001);
    x[3] = std::numeric_limits<T>::infinity();
    x[5] = -std::numeric_limits<T>::infinity();
    x[7] = std::numeric_limits<T>::quiet_NaN();
    for (std::size_t n = 1; n <= x.size(); n += n < 40 ? 1 : 1000) {
        std::vector<T> value(n), slope(n), softplus(n), sigmoid(n);
        K::apply_with_slope(Op::softplus, {}, n, x.data(), value.data(), slope.data());
        K::apply(Op::softplus, {}, n, x.data(), nullptr, softplus.data());
        K::apply(Op::sigmoid, {}, n, x.data(), nullptr, sigmoid.data());
        for (std::size_t i = 0; i < n; ++i) {
            CAPTURE(n);
            CAPTURE(x[i]);
            const auto same = [](T a, T b) {
                return std::isnan(a) ? std::isnan(b) : std::memcmp(&a, &b, sizeof(T)) == 0;
            };
            CHECK(same(value[i], softplus[i]));
            CHECK(same(slope[i], sigmoid[i]));
        }
    }
}

// The accuracy the elementwise kernels keep: xsimd's exp, log, log1p, tanh,
// sin, cos and erf are within 2 ulps (Cephes' polynomials), and sigmoid,
// softplus and gelu add one or two roundings (a division, an addition) to an
// exp, a log1p or an erf.
constexpr double elementwise_ulps = 4;

template <class A, class T>
void check_elementwise_kernels() {
    using K = xtape::rules::ArchKernels<A, T>;
    const auto kernel = [](Op op) {
        return [op](const T* x, T* out, std::size_t n) { K::apply(op, {}, n, x, nullptr, out); };
    };
    const T top = std::is_same_v<T, float> ? T(88.7) : T(709.7);  // just under exp's overflow
    check_elementwise<T>(kernel(Op::exp), [](long double v) { return std::exp(v); }, spread<T>(-80, top, 300),
                         elementwise_ulps, "exp");
    check_elementwise<T>(kernel(Op::log), [](long double v) { return std::log(v); }, spread<T>(T(1e-6), T(1e6), 300),
                         elementwise_ulps, "log");
    check_elementwise<T>(kernel(Op::log1p), [](long double v) { return std::log1p(v); },
                         spread<T>(T(-0.999), T(3), 300), elementwise_ulps, "log1p");
    check_elementwise<T>(kernel(Op::tanh), [](long double v) { return std::tanh(v); }, spread<T>(-20, 20, 301),
                         elementwise_ulps, "tanh");
    check_elementwise<T>(kernel(Op::sigmoid), [](long double v) { return 1 / (1 + std::exp(-v)); },
                         spread<T>(-80, 80, 301), elementwise_ulps, "sigmoid");
    check_elementwise<T>(kernel(Op::softplus), [](long double v) { return std::log1p(std::exp(v)); },
                         spread<T>(-80, 80, 2001), elementwise_ulps, "softplus");
    check_elementwise<T>(kernel(Op::log_sigmoid), [](long double v) { return -std::log1p(std::exp(-v)); },
                         spread<T>(-80, 80, 2001), elementwise_ulps, "log_sigmoid");
    check_elementwise<T>(kernel(Op::sin), [](long double v) { return std::sin(v); }, spread<T>(-10, 10, 301),
                         elementwise_ulps, "sin");
    check_elementwise<T>(kernel(Op::cos), [](long double v) { return std::cos(v); }, spread<T>(-10, 10, 301),
                         elementwise_ulps, "cos");
    check_elementwise<T>(kernel(Op::erf), [](long double v) { return std::erf(v); }, spread<T>(-5, 5, 301),
                         elementwise_ulps, "erf");
    // Down to -12, where Phi is still a normal float (1.8e-33).
    check_elementwise<T>(kernel(Op::normal_cdf), [](long double v) { return std::erfc(-v / std::sqrt(2.0L)) / 2; },
                         spread<T>(-12, 8, 301), elementwise_ulps, "normal_cdf");
    check_elementwise<T>(kernel(Op::gelu), [](long double v) { return v * std::erfc(-v / std::sqrt(2.0L)) / 2; },
                         spread<T>(-12, 8, 301), elementwise_ulps, "gelu");
    // softplus' derivative: g times sigmoid.
    const std::vector<T> x = spread<T>(-30, 30, 301);
    const std::vector<T> g = spread<T>(2, -1, 301);
    std::vector<T> out(x.size());
    K::derivative(Op::softplus, {}, 0, x.size(), g.data(), x.data(), nullptr, nullptr, nullptr, out.data());
    std::vector<long double> want(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) want[i] = g[i] / (1 + std::exp(-static_cast<long double>(x[i])));
    check_close(out, want, elementwise_ulps, std::numeric_limits<T>::min(), "softplus derivative");
    check_softplus_and_sigmoid<A, T>();
}

// The row kernels on 3 rows of n values in [-5, 5] (n below and above every
// batch width), against the formulas in long double. Their results are sums of
// a few roundings of values up to 1 + |result| in size (a shift, a log of a sum
// of n exps), so they are held to 8 ulps of that.
template <class A, class T>
void check_row_kernels() {
    using K = ArchMath<A, T>;
    constexpr double row_ulps = 8;
    for (const std::size_t n : {1, 3, 10, 17, 37}) {
        CAPTURE(n);
        const std::size_t rows = 3;
        const std::vector<T> x = spread<T>(-5, 5, rows * n + 1);  // one spare: rows differ
        const std::vector<T> g = spread<T>(1, -2, rows * n + 1);
        std::vector<long double> log_softmax(rows * n), softmax(rows * n), log_softmax_grad(rows * n),
            softmax_grad(rows * n);
        for (std::size_t r = 0; r < rows; ++r) {
            long double total = 0, g_total = 0, gy_total = 0;
            for (std::size_t j = r * n; j < (r + 1) * n; ++j) total += std::exp(static_cast<long double>(x[j]));
            for (std::size_t j = r * n; j < (r + 1) * n; ++j) {
                log_softmax[j] = x[j] - std::log(total);
                softmax[j] = std::exp(static_cast<long double>(x[j])) / total;
                g_total += g[j];
                gy_total += g[j] * softmax[j];
            }
            for (std::size_t j = r * n; j < (r + 1) * n; ++j) {
                log_softmax_grad[j] = g[j] - softmax[j] * g_total;
                softmax_grad[j] = softmax[j] * (g[j] - gy_total);
            }
        }
        std::vector<T> out(rows * n), y(rows * n), dx(rows * n);
        K::log_softmax_rows(x.data(), out.data(), rows, n);
        check_close(out, log_softmax, row_ulps, 1, "log_softmax_rows");
        K::log_softmax_grad_rows(g.data(), out.data(), dx.data(), rows, n);
        check_close(dx, log_softmax_grad, row_ulps, 1, "log_softmax_grad_rows");
        K::softmax_rows(x.data(), y.data(), rows, n);
        check_close(y, softmax, row_ulps, 1, "softmax_rows");
        K::softmax_grad_rows(g.data(), y.data(), dx.data(), rows, n);
        check_close(dx, softmax_grad, row_ulps, 1, "softmax_grad_rows");
    }
}

template <class A, class T>
void check_instruction_set(bool available) {
    if (!available) {
        MESSAGE("this CPU lacks ", A::name(), ": its kernels are not run");
        return;
    }
    SUBCASE(A::name()) {
        check_elementwise_kernels<A, T>();
        check_row_kernels<A, T>();
    }
}

}  // namespace

TEST_CASE_TEMPLATE("math kernels: every compiled instruction set the CPU runs matches long double", T, float,
                   double) {
#if defined(__x86_64__)  // the instruction sets src/meson.build compiles there
    const CpuFeatures cpu = cpu_features();
    check_instruction_set<xsimd::sse2, T>(true);
    check_instruction_set<xsimd::fma3<xsimd::avx2>, T>(cpu.avx2_fma);
    check_instruction_set<xsimd::avx512bw, T>(cpu.avx512);
#else
    check_instruction_set<xsimd::default_arch, T>(true);
#endif
}

TEST_CASE("kernel_instruction_set names the widest compiled instruction set the CPU has") {
    const std::string name = xtape::kernel_instruction_set();
#if defined(__x86_64__)
    const CpuFeatures cpu = cpu_features();
    const std::string widest = cpu.avx512 ? xsimd::avx512bw::name()
                               : cpu.avx2_fma ? xsimd::fma3<xsimd::avx2>::name()
                                              : xsimd::sse2::name();
    CHECK(name == widest);
#else
    CHECK(name == xsimd::default_arch::name());
#endif
}

#if defined(__x86_64__) && defined(__linux__)
// Linux lists a feature in /proc/cpuinfo only when it saves the feature's
// registers, so its flags are an independent account of what is usable.
TEST_CASE("cpu_features agrees with the flags Linux reports in /proc/cpuinfo") {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line) && line.rfind("flags", 0) != 0) {
    }
    if (line.empty()) {
        MESSAGE("/proc/cpuinfo lists no flags here: nothing to compare");
        return;
    }
    std::istringstream words(line.substr(line.find(':') + 1));
    const std::set<std::string> flags{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
    const auto has = [&](const char* flag) { return flags.count(flag) == 1; };
    const CpuFeatures cpu = cpu_features();
    CHECK(cpu.avx2_fma == (has("avx2") && has("fma")));
    CHECK(cpu.avx512 == (has("avx512f") && has("avx512cd") && has("avx512dq") && has("avx512bw")));
}
#endif
