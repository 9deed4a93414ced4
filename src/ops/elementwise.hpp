// Recording an elementwise primitive (a rule of rules/elementwise.hpp) on the
// tape: its value and its gradients from the rule's kernels, in one SIMD pass
// each over contiguous memory.
#pragma once

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xnoalias.hpp>

#include "xtape/detail/op_support.hpp"
#include "xtape/tape.hpp"

#include "../rules/kernels.hpp"

namespace xtape::detail {

/// R(a, s), recorded as one node named R::name (a constant when R is piecewise
/// constant). Throws ValueError for scalars outside R's domain.
template <class R, class T>
Var<T> record_unary(const Var<T>& a, rules::Scalars s = {}) {
    static_assert(R::arity == 1);
    constexpr rules::Op op = rules::op_of<R>;
    Tape<T>& tape = tape_of(a, R::name);
    rules::check_scalars(op, s);
    const rules::Kernels<T>& kernels = rules::best_kernels<T>();
    xt::xarray<T> out = tape.buffer(a.shape());
    kernels.apply(op, s, out.size(), a.value().data(), nullptr, out.data());
    if constexpr (rules::PiecewiseConstant<R>) {
        return tape.record(R::name, {a}, std::move(out), nullptr);
    } else {
        return tape.record(R::name, {a}, std::move(out), [s](GradContext<T>& c) {
            if constexpr (rules::traits_of<R>().passes_gradient[0]) {
                c.pass_on(0);
            } else {
                xt::xarray<T> da = c.buffer(c.input(0).shape());
                constexpr unsigned read = rules::traits_of<R>().reads[0];
                rules::best_kernels<T>().derivative(op, s, 0, da.size(), c.grad().data(),
                                                    read & rules::reads_a ? c.input(0).data() : nullptr, nullptr,
                                                    read & rules::reads_result ? c.value().data() : nullptr, nullptr,
                                                    da.data());
                c.accumulate(0, std::move(da));
            }
        });
    }
}

/// How the operands of a binary op line up with its output: of its shape, one
/// of them repeated over the output's rows (a bias over a batch), or any other
/// broadcast (the operands are then broadcast into arrays of the output's shape).
struct BinaryLayout {
    enum class Kind { same, a_repeated, b_repeated, other };
    Kind kind = Kind::same;
    Shape out;
    std::size_t row = 0;  // the repeated operand's size

    BinaryLayout(const Shape& a, const Shape& b, const char* op);

    /// f(out_offset, a_offset, b_offset, n) over blocks that pair contiguous
    /// elements (for `other`, of operands already broadcast to the output).
    template <class F>
    void for_each_block(std::size_t size, F f) const {
        if (kind == Kind::same || kind == Kind::other || row == 0) return f(0, 0, 0, size);
        for (std::size_t at = 0; at < size; at += row) {
            f(at, kind == Kind::a_repeated ? 0 : at, kind == Kind::b_repeated ? 0 : at, row);
        }
    }
};

/// `value` as an array of `shape` (which it broadcasts to), from `storage`'s buffers.
template <class T, class Storage>
xt::xarray<T> broadcast_into(Storage& storage, const xt::xarray<T>& value, const Shape& shape) {
    xt::xarray<T> full = storage.buffer(shape);
    xt::noalias(full) = xt::broadcast(value, shape);
    return full;
}

/// R(a, b) with NumPy broadcasting, recorded as one node named R::name (a
/// constant when R is piecewise constant). Throws ShapeError naming the op
/// when the shapes do not broadcast.
template <class R, class T>
Var<T> record_binary(const Var<T>& a, const Var<T>& b) {
    static_assert(R::arity == 2);
    constexpr rules::Op op = rules::op_of<R>;
    Tape<T>& tape = tape_of(a, b, R::name);
    const BinaryLayout layout(a.shape(), b.shape(), R::name);
    const rules::Kernels<T>& kernels = rules::best_kernels<T>();
    xt::xarray<T> out = tape.buffer(layout.out);
    {
        const bool other = layout.kind == BinaryLayout::Kind::other;
        const xt::xarray<T> full_a = other ? broadcast_into(tape, a.value(), layout.out) : xt::xarray<T>();
        const xt::xarray<T> full_b = other ? broadcast_into(tape, b.value(), layout.out) : xt::xarray<T>();
        const T* pa = other ? full_a.data() : a.value().data();
        const T* pb = other ? full_b.data() : b.value().data();
        layout.for_each_block(out.size(), [&](std::size_t at, std::size_t at_a, std::size_t at_b, std::size_t n) {
            kernels.apply(op, {}, n, pa + at_a, pb + at_b, out.data() + at);
        });
    }
    if constexpr (rules::PiecewiseConstant<R>) {
        return tape.record(R::name, {a, b}, std::move(out), nullptr);
    } else {
        return tape.record(R::name, {a, b}, std::move(out), [layout](GradContext<T>& c) {
            constexpr rules::OpTraits traits = rules::traits_of<R>();
            const rules::Kernels<T>& kernels = rules::best_kernels<T>();
            // The operands broadcast to the output's shape where a derivative reads them.
            unsigned reads = 0;
            for (int which = 0; which < 2; ++which) reads |= c.needs_grad(which) ? traits.reads[which] : 0;
            const bool other = layout.kind == BinaryLayout::Kind::other;
            const bool full_a = other && (reads & rules::reads_a);
            const bool full_b = other && (reads & rules::reads_b);
            const xt::xarray<T> a = full_a ? broadcast_into(c, c.input(0), layout.out) : xt::xarray<T>();
            const xt::xarray<T> b = full_b ? broadcast_into(c, c.input(1), layout.out) : xt::xarray<T>();
            const T* pa = full_a ? a.data() : c.input(0).data();
            const T* pb = full_b ? b.data() : c.input(1).data();
            int passed = -1;  // an operand whose derivative is the incoming gradient: it is handed on last
            for (int which = 0; which < 2; ++which) {
                if (!c.needs_grad(which)) continue;
                if (traits.passes_gradient[which]) {
                    if (passed >= 0) c.accumulate(passed, c.grad());
                    passed = which;
                    continue;
                }
                // Of the output's shape: accumulate sums it down to the operand's.
                xt::xarray<T> d = c.buffer(layout.out);
                const unsigned read = traits.reads[which];
                const T* g = c.grad().data();
                const T* y = c.value().data();
                layout.for_each_block(d.size(), [&](std::size_t at, std::size_t at_a, std::size_t at_b, std::size_t n) {
                    kernels.derivative(op, {}, which, n, g + at, read & rules::reads_a ? pa + at_a : nullptr,
                                       read & rules::reads_b ? pb + at_b : nullptr,
                                       read & rules::reads_result ? y + at : nullptr, nullptr, d.data() + at);
                });
                c.accumulate(which, std::move(d));
            }
            if (passed >= 0) c.pass_on(passed);
        });
    }
}

}  // namespace xtape::detail
