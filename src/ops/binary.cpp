// Elementwise binary ops with NumPy broadcasting, and their scalar forms.
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "xtape/detail/op_support.hpp"
#include "xtape/ops.hpp"

namespace xtape {

using detail::tape_of;

namespace {
// Checks that a and b broadcast (the error names the op and both shapes) and
// returns their common tape.
template <class T>
Tape<T>& binary_tape(const Var<T>& a, const Var<T>& b, const char* op) {
    Tape<T>& tape = tape_of(a, b, op);
    broadcast_shapes(a.shape(), b.shape(), op);
    return tape;
}
}  // namespace

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
    Tape<T>& tape = binary_tape(a, b, "add");
    return tape.record("add", {a, b}, a.value() + b.value(), [](GradContext<T>& c) {
        c.accumulate(0, c.grad());  // d(a+b)/da = 1
        c.accumulate(1, c.grad());  // d(a+b)/db = 1
    });
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
    Tape<T>& tape = binary_tape(a, b, "sub");
    return tape.record("sub", {a, b}, a.value() - b.value(), [](GradContext<T>& c) {
        c.accumulate(0, c.grad());   // d(a-b)/da = 1
        c.accumulate(1, -c.grad());  // d(a-b)/db = -1
    });
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
    Tape<T>& tape = binary_tape(a, b, "mul");
    return tape.record("mul", {a, b}, a.value() * b.value(), [](GradContext<T>& c) {
        if (c.needs_grad(0)) c.accumulate(0, c.grad() * c.input(1));  // d(ab)/da = b
        if (c.needs_grad(1)) c.accumulate(1, c.grad() * c.input(0));  // d(ab)/db = a
    });
}

template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
    Tape<T>& tape = binary_tape(a, b, "div");
    return tape.record("div", {a, b}, a.value() / b.value(), [](GradContext<T>& c) {
        if (c.needs_grad(0)) c.accumulate(0, c.grad() / c.input(1));  // d(a/b)/da = 1/b
        // d(a/b)/db = -a/b^2 = -(a/b)/b
        if (c.needs_grad(1)) c.accumulate(1, -c.grad() * c.value() / c.input(1));
    });
}

template <class T>
Var<T> maximum(const Var<T>& a, const Var<T>& b) {
    Tape<T>& tape = binary_tape(a, b, "maximum");
    return tape.record("maximum", {a, b}, xt::maximum(a.value(), b.value()), [](GradContext<T>& c) {
        // The gradient goes to a where a >= b (a wins ties), to b elsewhere.
        const auto& a = c.input(0);
        const auto& b = c.input(1);
        if (c.needs_grad(0)) c.accumulate(0, xt::where(a >= b, c.grad(), T(0)));
        if (c.needs_grad(1)) c.accumulate(1, xt::where(a >= b, T(0), c.grad()));
    });
}

template <class T>
Var<T> minimum(const Var<T>& a, const Var<T>& b) {
    Tape<T>& tape = binary_tape(a, b, "minimum");
    return tape.record("minimum", {a, b}, xt::minimum(a.value(), b.value()), [](GradContext<T>& c) {
        // The gradient goes to a where a <= b (a wins ties), to b elsewhere.
        const auto& a = c.input(0);
        const auto& b = c.input(1);
        if (c.needs_grad(0)) c.accumulate(0, xt::where(a <= b, c.grad(), T(0)));
        if (c.needs_grad(1)) c.accumulate(1, xt::where(a <= b, T(0), c.grad()));
    });
}

// ---- scalar forms ---------------------------------------------------------------

template <class T>
Var<T> add(const Var<T>& a, std::type_identity_t<T> s) {
    return tape_of(a, "add").record("add_scalar", {a}, a.value() + s, [](GradContext<T>& c) {
        c.accumulate(0, c.grad());  // d(a+s)/da = 1
    });
}

template <class T>
Var<T> mul(const Var<T>& a, std::type_identity_t<T> s) {
    return tape_of(a, "mul").record("mul_scalar", {a}, a.value() * s, [s](GradContext<T>& c) {
        c.accumulate(0, c.grad() * s);  // d(as)/da = s
    });
}

template <class T>
Var<T> div(const Var<T>& a, std::type_identity_t<T> s) {
    return tape_of(a, "div").record("div_scalar", {a}, a.value() / s, [s](GradContext<T>& c) {
        c.accumulate(0, c.grad() / s);  // d(a/s)/da = 1/s
    });
}

template <class T>
Var<T> rsub(std::type_identity_t<T> s, const Var<T>& a) {
    return tape_of(a, "rsub").record("rsub_scalar", {a}, s - a.value(), [](GradContext<T>& c) {
        c.accumulate(0, -c.grad());  // d(s-a)/da = -1
    });
}

template <class T>
Var<T> rdiv(std::type_identity_t<T> s, const Var<T>& a) {
    return tape_of(a, "rdiv").record("rdiv_scalar", {a}, s / a.value(), [](GradContext<T>& c) {
        // d(s/a)/da = -s/a^2 = -(s/a)/a
        c.accumulate(0, -c.grad() * c.value() / c.input(0));
    });
}

template <class T>
Var<T> maximum(const Var<T>& a, std::type_identity_t<T> s) {
    return tape_of(a, "maximum").record("maximum_scalar", {a}, xt::maximum(a.value(), s),
                                        [s](GradContext<T>& c) {
                                            // a wins ties
                                            c.accumulate(0, xt::where(c.input(0) >= s, c.grad(), T(0)));
                                        });
}

template <class T>
Var<T> minimum(const Var<T>& a, std::type_identity_t<T> s) {
    return tape_of(a, "minimum").record("minimum_scalar", {a}, xt::minimum(a.value(), s),
                                        [s](GradContext<T>& c) {
                                            // a wins ties
                                            c.accumulate(0, xt::where(c.input(0) <= s, c.grad(), T(0)));
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
