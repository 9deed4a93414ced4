// Elementwise binary ops with NumPy broadcasting, and their scalar forms.
//
// Operands of one shape (the common case) and the scalar forms go through one
// SIMD pass per value and per gradient; broadcasting operands go through xtensor.
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "../kernels/elementwise.hpp"
#include "xtape/detail/op_support.hpp"
#include "xtape/ops.hpp"

namespace xtape {

using detail::tape_of;
using kernels::mapped;
using kernels::shapes_agree;

namespace {
// Checks that a and b broadcast (the error names the op and both shapes) and
// returns their common tape.
template <class T>
Tape<T>& binary_tape(const Var<T>& a, const Var<T>& b, const char* op) {
    Tape<T>& tape = tape_of(a, b, op);
    broadcast_shapes(a.shape(), b.shape(), op);
    return tape;
}

// -g: the gradient of a subtracted operand, of the output's shape whatever the
// operands' shapes (accumulate sums it down).
template <class T>
xt::xarray<T> negated(GradContext<T>& c) {
    return mapped<T>(c, [](kernels::Batch<T> x) { return -x; }, c.grad());
}
}  // namespace

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = binary_tape(a, b, "add");
    xt::xarray<T> out = shapes_agree(a.value(), b.value())
                            ? mapped<T>(tape, [](B x, B y) { return x + y; }, a.value(), b.value())
                            : xt::xarray<T>(a.value() + b.value());
    return tape.record("add", {a, b}, std::move(out), [](GradContext<T>& c) {
        // d(a+b)/da = d(a+b)/db = 1: a copy for a when b wants the gradient too
        if (c.needs_grad(1)) c.accumulate(0, c.grad());
        c.pass_on(c.needs_grad(1) ? 1 : 0);
    });
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = binary_tape(a, b, "sub");
    xt::xarray<T> out = shapes_agree(a.value(), b.value())
                            ? mapped<T>(tape, [](B x, B y) { return x - y; }, a.value(), b.value())
                            : xt::xarray<T>(a.value() - b.value());
    return tape.record("sub", {a, b}, std::move(out), [](GradContext<T>& c) {
        if (c.needs_grad(1)) c.accumulate(1, negated(c));  // d(a-b)/db = -1
        c.pass_on(0);                                      // d(a-b)/da = 1
    });
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = binary_tape(a, b, "mul");
    auto times = [](B x, B y) { return x * y; };
    xt::xarray<T> out = shapes_agree(a.value(), b.value()) ? mapped<T>(tape, times, a.value(), b.value())
                                                         : xt::xarray<T>(a.value() * b.value());
    return tape.record("mul", {a, b}, std::move(out), [times](GradContext<T>& c) {
        const auto& g = c.grad();
        // d(ab)/da = b, d(ab)/db = a
        if (shapes_agree(g, c.input(0), c.input(1))) {
            if (c.needs_grad(0)) c.accumulate(0, mapped<T>(c, times, g, c.input(1)));
            if (c.needs_grad(1)) c.accumulate(1, mapped<T>(c, times, g, c.input(0)));
        } else {
            if (c.needs_grad(0)) c.accumulate(0, g * c.input(1));
            if (c.needs_grad(1)) c.accumulate(1, g * c.input(0));
        }
    });
}

template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = binary_tape(a, b, "div");
    auto over = [](B x, B y) { return x / y; };
    xt::xarray<T> out = shapes_agree(a.value(), b.value()) ? mapped<T>(tape, over, a.value(), b.value())
                                                         : xt::xarray<T>(a.value() / b.value());
    return tape.record("div", {a, b}, std::move(out), [over](GradContext<T>& c) {
        const auto& g = c.grad();
        // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -(a/b)/b
        if (shapes_agree(g, c.input(0), c.input(1))) {
            if (c.needs_grad(0)) c.accumulate(0, mapped<T>(c, over, g, c.input(1)));
            if (c.needs_grad(1)) {
                c.accumulate(1, mapped<T>(c, [](B dy, B y, B q) { return -dy * q / y; }, g, c.input(1), c.value()));
            }
        } else {
            if (c.needs_grad(0)) c.accumulate(0, g / c.input(1));
            if (c.needs_grad(1)) c.accumulate(1, -g * c.value() / c.input(1));
        }
    });
}

// maximum and minimum pick as xt::maximum and xt::minimum do (b when a is NaN
// or at a tie of values, which only matters for the sign of a zero); the
// gradient goes to a where a >= b (resp. a <= b), so a wins ties.

template <class T>
Var<T> maximum(const Var<T>& a, const Var<T>& b) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = binary_tape(a, b, "maximum");
    xt::xarray<T> out = shapes_agree(a.value(), b.value())
                            ? mapped<T>(tape, [](B x, B y) { return xsimd::select(x > y, x, y); }, a.value(), b.value())
                            : xt::xarray<T>(xt::maximum(a.value(), b.value()));
    return tape.record("maximum", {a, b}, std::move(out), [](GradContext<T>& c) {
        const auto& g = c.grad();
        const auto& a = c.input(0);
        const auto& b = c.input(1);
        if (shapes_agree(g, a, b)) {
            auto to_a = [zero = B(T(0))](B dy, B x, B y) { return xsimd::select(x >= y, dy, zero); };
            auto to_b = [zero = B(T(0))](B dy, B x, B y) { return xsimd::select(x >= y, zero, dy); };
            if (c.needs_grad(0)) c.accumulate(0, mapped<T>(c, to_a, g, a, b));
            if (c.needs_grad(1)) c.accumulate(1, mapped<T>(c, to_b, g, a, b));
        } else {
            if (c.needs_grad(0)) c.accumulate(0, xt::where(a >= b, g, T(0)));
            if (c.needs_grad(1)) c.accumulate(1, xt::where(a >= b, T(0), g));
        }
    });
}

template <class T>
Var<T> minimum(const Var<T>& a, const Var<T>& b) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = binary_tape(a, b, "minimum");
    xt::xarray<T> out = shapes_agree(a.value(), b.value())
                            ? mapped<T>(tape, [](B x, B y) { return xsimd::select(x < y, x, y); }, a.value(), b.value())
                            : xt::xarray<T>(xt::minimum(a.value(), b.value()));
    return tape.record("minimum", {a, b}, std::move(out), [](GradContext<T>& c) {
        const auto& g = c.grad();
        const auto& a = c.input(0);
        const auto& b = c.input(1);
        if (shapes_agree(g, a, b)) {
            auto to_a = [zero = B(T(0))](B dy, B x, B y) { return xsimd::select(x <= y, dy, zero); };
            auto to_b = [zero = B(T(0))](B dy, B x, B y) { return xsimd::select(x <= y, zero, dy); };
            if (c.needs_grad(0)) c.accumulate(0, mapped<T>(c, to_a, g, a, b));
            if (c.needs_grad(1)) c.accumulate(1, mapped<T>(c, to_b, g, a, b));
        } else {
            if (c.needs_grad(0)) c.accumulate(0, xt::where(a <= b, g, T(0)));
            if (c.needs_grad(1)) c.accumulate(1, xt::where(a <= b, T(0), g));
        }
    });
}

// ---- scalar forms: always one SIMD pass -------------------------------------------

template <class T>
Var<T> add(const Var<T>& a, std::type_identity_t<T> s) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = tape_of(a, "add");
    xt::xarray<T> out = mapped<T>(tape, [s](B x) { return x + s; }, a.value());
    return tape.record("add_scalar", {a}, std::move(out), [](GradContext<T>& c) {
        c.accumulate(0, c.grad());  // d(a+s)/da = 1
    });
}

template <class T>
Var<T> mul(const Var<T>& a, std::type_identity_t<T> s) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = tape_of(a, "mul");
    auto times_s = [s](B x) { return x * s; };
    return tape.record("mul_scalar", {a}, mapped<T>(tape, times_s, a.value()), [times_s](GradContext<T>& c) {
        c.accumulate(0, mapped<T>(c, times_s, c.grad()));  // d(as)/da = s
    });
}

template <class T>
Var<T> div(const Var<T>& a, std::type_identity_t<T> s) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = tape_of(a, "div");
    auto over_s = [s](B x) { return x / s; };
    return tape.record("div_scalar", {a}, mapped<T>(tape, over_s, a.value()), [over_s](GradContext<T>& c) {
        c.accumulate(0, mapped<T>(c, over_s, c.grad()));  // d(a/s)/da = 1/s
    });
}

template <class T>
Var<T> rsub(std::type_identity_t<T> s, const Var<T>& a) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = tape_of(a, "rsub");
    xt::xarray<T> out = mapped<T>(tape, [s](B x) { return s - x; }, a.value());
    return tape.record("rsub_scalar", {a}, std::move(out), [](GradContext<T>& c) {
        c.accumulate(0, negated(c));  // d(s-a)/da = -1
    });
}

template <class T>
Var<T> rdiv(std::type_identity_t<T> s, const Var<T>& a) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = tape_of(a, "rdiv");
    xt::xarray<T> out = mapped<T>(tape, [s](B x) { return s / x; }, a.value());
    return tape.record("rdiv_scalar", {a}, std::move(out), [](GradContext<T>& c) {
        // d(s/a)/da = -s/a^2 = -(s/a)/a
        c.accumulate(0, mapped<T>(c, [](B dy, B q, B x) { return -dy * q / x; }, c.grad(), c.value(), c.input(0)));
    });
}

template <class T>
Var<T> maximum(const Var<T>& a, std::type_identity_t<T> s) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = tape_of(a, "maximum");
    auto pick = [bound = B(s)](B x) { return xsimd::select(x > bound, x, bound); };
    return tape.record("maximum_scalar", {a}, mapped<T>(tape, pick, a.value()), [s](GradContext<T>& c) {
        // a wins ties
        auto to_a = [bound = B(s), zero = B(T(0))](B dy, B x) { return xsimd::select(x >= bound, dy, zero); };
        c.accumulate(0, mapped<T>(c, to_a, c.grad(), c.input(0)));
    });
}

template <class T>
Var<T> minimum(const Var<T>& a, std::type_identity_t<T> s) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = tape_of(a, "minimum");
    auto pick = [bound = B(s)](B x) { return xsimd::select(x < bound, x, bound); };
    return tape.record("minimum_scalar", {a}, mapped<T>(tape, pick, a.value()), [s](GradContext<T>& c) {
        // a wins ties
        auto to_a = [bound = B(s), zero = B(T(0))](B dy, B x) { return xsimd::select(x <= bound, dy, zero); };
        c.accumulate(0, mapped<T>(c, to_a, c.grad(), c.input(0)));
    });
}

#define XTAPE_INSTANTIATE(T)                                        \
    template Var<T> add(const Var<T>&, const Var<T>&);              \
    template Var<T> sub(const Var<T>&, const Var<T>&);              \
    template Var<T> mul(const Var<T>&, const Var<T>&);              \
    template Var<T> div(const Var<T>&, const Var<T>&);              \
    template Var<T> maximum(const Var<T>&, const Var<T>&);          \
    template Var<T> minimum(const Var<T>&, const Var<T>&);          \
    template Var<T> add(const Var<T>&, T);                          \
    template Var<T> mul(const Var<T>&, T);                          \
    template Var<T> div(const Var<T>&, T);                          \
    template Var<T> rsub(T, const Var<T>&);                         \
    template Var<T> rdiv(T, const Var<T>&);                         \
    template Var<T> maximum(const Var<T>&, T);                      \
    template Var<T> minimum(const Var<T>&, T);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
