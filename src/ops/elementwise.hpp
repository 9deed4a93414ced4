// Recording an elementwise primitive (a rule of rules/elementwise.hpp) on the
// tape: its value and its gradients from the rule's kernels, in one SIMD pass
// each over contiguous memory, and its differentiable backward from the same
// rule's derivative instantiated on Vars.
#pragma once

#include "xtape/detail/op_support.hpp"
#include "xtape/detail/sum_to.hpp"
#include "xtape/ops.hpp"
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
        }, [s](VarGradContext<T>& c) { c.accumulate(0, R::derivative(0, c.grad(), c.input(0), Var<T>(), c.output(), s)); });
    }
}

/// How the operands of a binary op line up with its output of shape `out`:
/// of its shape, one of them repeated over the output's rows (a bias over a
/// batch), or any other broadcast (the operands are then broadcast into arrays
/// of the output's shape). Small and trivially copyable, so that a backward
/// function capturing it fits in std::function without an allocation.
struct BinaryLayout {
    enum class Kind { same, a_repeated, b_repeated, other };
    Kind kind = Kind::same;
    std::size_t row = 0;  // the repeated operand's size

    /// Operands of the output's shape.
    BinaryLayout() = default;
    BinaryLayout(const Shape& a, const Shape& b, const Shape& out);

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
static_assert(std::is_trivially_copyable_v<BinaryLayout> && sizeof(BinaryLayout) <= 2 * sizeof(void*));

/// The data of `value` as an array of `shape`, which it broadcasts to: its
/// own when it has that shape, else a copy broadcast into a buffer of
/// `storage` (a tape or a gradient context), which keeps it until the tape's
/// clear() makes it spare storage again, so that a step allocates nothing.
template <class T, class Storage>
const T* broadcast_data(Storage& storage, const xt::xarray<T>& value, const Shape& shape) {
    if (value.shape() == shape) return value.data();
    xt::xarray<T> full = storage.buffer(shape);
    detail::broadcast_copy(value, full);
    return storage.keep(std::move(full)).data();
}

/// R(a, b) with NumPy broadcasting, recorded as one node named R::name (a
/// constant when R is piecewise constant). Throws ShapeError naming the op
/// when the shapes do not broadcast.
template <class R, class T>
Var<T> record_binary(const Var<T>& a, const Var<T>& b) {
    static_assert(R::arity == 2);
    constexpr rules::Op op = rules::op_of<R>;
    Tape<T>& tape = tape_of(a, b, R::name);
    const bool same_shape = a.shape() == b.shape();
    const Shape out_shape = same_shape ? a.shape() : broadcast_shapes(a.shape(), b.shape(), R::name);
    const BinaryLayout layout = same_shape ? BinaryLayout{} : BinaryLayout(a.shape(), b.shape(), out_shape);
    const rules::Kernels<T>& kernels = rules::best_kernels<T>();
    xt::xarray<T> out = tape.buffer(out_shape);
    if (layout.kind == BinaryLayout::Kind::other) {
        kernels.apply(op, {}, out.size(), broadcast_data(tape, a.value(), out_shape),
                      broadcast_data(tape, b.value(), out_shape), out.data());
    } else {
        const T* pa = a.value().data();
        const T* pb = b.value().data();
        layout.for_each_block(out.size(), [&](std::size_t at, std::size_t at_a, std::size_t at_b, std::size_t n) {
            kernels.apply(op, {}, n, pa + at_a, pb + at_b, out.data() + at);
        });
    }
    if constexpr (rules::PiecewiseConstant<R>) {
        return tape.record(R::name, {a, b}, std::move(out), nullptr);
    } else {
        return tape.record(R::name, {a, b}, std::move(out), [layout](GradContext<T>& c) {
            constexpr rules::OpTraits traits = rules::traits_of<R>();
            const bool wanted[2] = {c.needs_grad(0), c.needs_grad(1)};
            // What the wanted derivatives read (nothing for add and sub, whose
            // gradients pass on: their backward touches no value).
            const unsigned reads = (wanted[0] ? traits.reads[0] : 0u) | (wanted[1] ? traits.reads[1] : 0u);
            const Shape& out_shape = c.value().shape();
            // The operands broadcast to the output's shape where a derivative reads them.
            const bool other = layout.kind == BinaryLayout::Kind::other;
            const auto operand = [&](std::size_t k) {
                return other ? broadcast_data(c, c.input(k), out_shape) : c.input(k).data();
            };
            const T* pa = reads & rules::reads_a ? operand(0) : nullptr;
            const T* pb = reads & rules::reads_b ? operand(1) : nullptr;
            const T* y = reads & rules::reads_result ? c.value().data() : nullptr;
            int passed = -1;  // an operand whose derivative is the incoming gradient: it is handed on last
            for (int which = 0; which < 2; ++which) {
                if (!wanted[which]) continue;
                if (traits.passes_gradient[which]) {
                    if (passed >= 0) c.accumulate(passed, c.grad());
                    passed = which;
                    continue;
                }
                // Of the output's shape: accumulate sums it down to the operand's.
                xt::xarray<T> d = c.buffer(out_shape);
                const unsigned read = traits.reads[which];
                const T* g = c.grad().data();
                layout.for_each_block(d.size(), [&](std::size_t at, std::size_t at_a, std::size_t at_b, std::size_t n) {
                    rules::best_kernels<T>().derivative(op, {}, which, n, g + at, read & rules::reads_a ? pa + at_a : nullptr,
                                                        read & rules::reads_b ? pb + at_b : nullptr,
                                                        read & rules::reads_result ? y + at : nullptr, nullptr,
                                                        d.data() + at);
                });
                c.accumulate(which, std::move(d));
            }
            if (passed >= 0) c.pass_on(passed);
        }, [](VarGradContext<T>& c) {
            for (int which = 0; which < 2; ++which) {
                if (c.needs_grad(which)) {
                    c.accumulate(which, R::derivative(which, c.grad(), c.input(0), c.input(1), c.output(), {}));
                }
            }
        });
    }
}

}  // namespace xtape::detail
