// Elementwise binary ops with NumPy broadcasting, and their scalar forms: each
// one rule of rules/elementwise.hpp, recorded by ops/elementwise.hpp.
#include <algorithm>

#include "elementwise.hpp"
#include "xtape/ops.hpp"

namespace xtape {

namespace detail {

BinaryLayout::BinaryLayout(const Shape& a, const Shape& b, const Shape& out) {
    if (a == out && b == out) return;
    // Whether `small`, leading 1s aside, is the trailing part of the output's
    // shape: then it repeats over the output's rows. Rows of a few elements
    // would cost a kernel call each, and are broadcast instead.
    constexpr std::size_t shortest_row = 8;
    const auto repeats = [&](const Shape& small) {
        const auto first = std::find_if(small.begin(), small.end(), [](std::size_t extent) { return extent != 1; });
        const auto trailing = static_cast<std::size_t>(small.end() - first);
        return trailing <= out.size() && std::equal(first, small.end(), out.end() - trailing) &&
               element_count(small) >= shortest_row;
    };
    if (b == out && repeats(a)) {
        kind = Kind::a_repeated;
        row = element_count(a);
    } else if (a == out && repeats(b)) {
        kind = Kind::b_repeated;
        row = element_count(b);
    } else {
        kind = Kind::other;
    }
}

}  // namespace detail

using detail::record_binary;
using detail::record_unary;

template <class T> Var<T> add(const Var<T>& a, const Var<T>& b) { return record_binary<rules::Add>(a, b); }
template <class T> Var<T> sub(const Var<T>& a, const Var<T>& b) { return record_binary<rules::Sub>(a, b); }
template <class T> Var<T> mul(const Var<T>& a, const Var<T>& b) { return record_binary<rules::Mul>(a, b); }
template <class T> Var<T> div(const Var<T>& a, const Var<T>& b) { return record_binary<rules::Div>(a, b); }
template <class T> Var<T> maximum(const Var<T>& a, const Var<T>& b) { return record_binary<rules::Maximum>(a, b); }
template <class T> Var<T> minimum(const Var<T>& a, const Var<T>& b) { return record_binary<rules::Minimum>(a, b); }
template <class T> Var<T> pow(const Var<T>& a, const Var<T>& b) { return record_binary<rules::Pow>(a, b); }
template <class T> Var<T> ge(const Var<T>& a, const Var<T>& b) { return record_binary<rules::Ge>(a, b); }
template <class T> Var<T> le(const Var<T>& a, const Var<T>& b) { return record_binary<rules::Le>(a, b); }

template <class T> Var<T> add(const Var<T>& a, std::type_identity_t<T> s) { return record_unary<rules::AddScalar>(a, {s}); }
template <class T> Var<T> mul(const Var<T>& a, std::type_identity_t<T> s) { return record_unary<rules::MulScalar>(a, {s}); }
template <class T> Var<T> div(const Var<T>& a, std::type_identity_t<T> s) { return record_unary<rules::DivScalar>(a, {s}); }
template <class T> Var<T> rsub(std::type_identity_t<T> s, const Var<T>& a) { return record_unary<rules::RsubScalar>(a, {s}); }
template <class T> Var<T> rdiv(std::type_identity_t<T> s, const Var<T>& a) { return record_unary<rules::RdivScalar>(a, {s}); }
template <class T>
Var<T> maximum(const Var<T>& a, std::type_identity_t<T> s) {
    return record_unary<rules::MaximumScalar>(a, {s});
}
template <class T>
Var<T> minimum(const Var<T>& a, std::type_identity_t<T> s) {
    return record_unary<rules::MinimumScalar>(a, {s});
}
template <class T> Var<T> ge(const Var<T>& a, std::type_identity_t<T> s) { return record_unary<rules::GeScalar>(a, {s}); }
template <class T> Var<T> le(const Var<T>& a, std::type_identity_t<T> s) { return record_unary<rules::LeScalar>(a, {s}); }

#define XTAPE_INSTANTIATE(T)                                        \
    template Var<T> add(const Var<T>&, const Var<T>&);              \
    template Var<T> sub(const Var<T>&, const Var<T>&);              \
    template Var<T> mul(const Var<T>&, const Var<T>&);              \
    template Var<T> div(const Var<T>&, const Var<T>&);              \
    template Var<T> maximum(const Var<T>&, const Var<T>&);          \
    template Var<T> minimum(const Var<T>&, const Var<T>&);          \
    template Var<T> pow(const Var<T>&, const Var<T>&);              \
    template Var<T> ge(const Var<T>&, const Var<T>&);               \
    template Var<T> le(const Var<T>&, const Var<T>&);               \
    template Var<T> add(const Var<T>&, T);                          \
    template Var<T> mul(const Var<T>&, T);                          \
    template Var<T> div(const Var<T>&, T);                          \
    template Var<T> rsub(T, const Var<T>&);                         \
    template Var<T> rdiv(T, const Var<T>&);                         \
    template Var<T> maximum(const Var<T>&, T);                      \
    template Var<T> minimum(const Var<T>&, T);                      \
    template Var<T> ge(const Var<T>&, T);                           \
    template Var<T> le(const Var<T>&, T);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
