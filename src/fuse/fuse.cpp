// Evaluating a fused elementwise program tile by tile, forward and backward.
#include <algorithm>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "xtape/detail/op_support.hpp"
#include "xtape/errors.hpp"
#include "xtape/fuse.hpp"

#include "program.hpp"
#include "tile_primitives.hpp"

namespace xtape {

namespace {

using detail::DerivativeReads;
using detail::ElementwiseInstruction;
using detail::ElementwiseProgram;

// Elements per tile: every intermediate of a tile stays in the L1 cache
// (4 KB per float slot), and the per-instruction dispatch is paid per 1024 elements.
constexpr std::size_t tile_elements = 1024;

// A program and its output slot, as the node keeps them.
struct FusedExpression {
    std::shared_ptr<const ElementwiseProgram> program;
    std::uint32_t output;

    const ElementwiseInstruction& instruction_of(std::size_t slot) const {
        return program->code[slot - program->inputs];
    }
    bool is_input(std::size_t slot) const { return slot < program->inputs; }
};

// Which slots the output depends on: the instructions worth running forward.
std::vector<bool> slots_used(const FusedExpression& e) {
    std::vector<bool> used(e.program->slots(), false);
    used[e.output] = true;
    for (std::size_t slot = e.program->slots(); slot-- > e.program->inputs;) {
        if (!used[slot]) continue;
        const ElementwiseInstruction& instruction = e.instruction_of(slot);
        used[instruction.a] = true;
        if (detail::is_binary(instruction.op)) used[instruction.b] = true;
    }
    return used;
}

// Tiles for intermediate values and adjoints, kept per thread from call to call.
template <class T>
T* scratch_tiles(std::size_t count) {
    thread_local std::vector<T> storage;
    if (storage.size() < count * tile_elements) storage.resize(count * tile_elements);
    return storage.data();
}

// Runs the instructions marked in `run` on one tile of n elements: value[slot]
// points at each slot's n values; an instruction's result goes to its own
// tile in `tiles` (instruction i at tiles + i * tile_elements), or to `out`
// for the output slot.
template <class T>
void run_forward(const FusedExpression& e, const std::vector<bool>& run, std::vector<const T*>& value, T* tiles,
                 T* out, std::size_t n) {
    const std::size_t inputs = e.program->inputs;
    for (std::size_t slot = inputs; slot < e.program->slots(); ++slot) {
        if (!run[slot]) continue;
        const ElementwiseInstruction& instruction = e.instruction_of(slot);
        T* result = slot == e.output && out != nullptr ? out : tiles + (slot - inputs) * tile_elements;
        detail::apply_primitive(instruction, n, value[instruction.a], value[instruction.b], result);
        value[slot] = result;
    }
}

template <class T>
xt::xarray<T> evaluate(Tape<T>& tape, const FusedExpression& e, std::span<const Var<T>> inputs) {
    xt::xarray<T> out = tape.buffer(inputs[0].shape());
    const std::size_t size = out.size();
    if (e.is_input(e.output)) {
        std::copy_n(inputs[e.output].value().data(), size, out.data());
        return out;
    }
    const std::vector<bool> used = slots_used(e);
    T* tiles = scratch_tiles<T>(e.program->code.size());
    std::vector<const T*> value(e.program->slots(), nullptr);
    for (std::size_t begin = 0; begin < size; begin += tile_elements) {
        const std::size_t n = std::min(tile_elements, size - begin);
        for (std::size_t k = 0; k < inputs.size(); ++k) value[k] = inputs[k].value().data() + begin;
        run_forward(e, used, value, tiles, out.data() + begin, n);
    }
    return out;
}

// The backward of a fused node: per tile, recompute the intermediates that
// some derivative reads, then sweep the instructions in reverse, adding each
// one's contribution to its operands' adjoints.
template <class T>
class FusedBackward {
public:
    explicit FusedBackward(FusedExpression e) : e_(std::move(e)) {}

    void operator()(GradContext<T>& c) const {
        const std::size_t slots = e_.program->slots();
        const std::size_t inputs = e_.program->inputs;
        const Plan plan = make_plan(c);
        std::vector<xt::xarray<T>> grads(inputs);
        for (std::size_t k = 0; k < inputs; ++k) {
            if (plan.adjoint[k]) grads[k] = c.buffer(c.input(k).shape());
        }
        // Value tiles of the instructions, then their adjoint tiles, then one for a contribution.
        const std::size_t instructions = e_.program->code.size();
        T* tiles = scratch_tiles<T>(2 * instructions + 1);
        T* adjoint_tiles = tiles + instructions * tile_elements;
        T* contribution = adjoint_tiles + instructions * tile_elements;

        const std::size_t size = c.grad().size();
        std::vector<const T*> value(slots, nullptr);
        std::vector<T*> adjoint(slots, nullptr);
        std::vector<bool> written(slots, false);
        for (std::size_t begin = 0; begin < size; begin += tile_elements) {
            const std::size_t n = std::min(tile_elements, size - begin);
            for (std::size_t k = 0; k < inputs; ++k) {
                value[k] = c.input(k).data() + begin;
                adjoint[k] = plan.adjoint[k] ? grads[k].data() + begin : nullptr;
            }
            for (std::size_t slot = inputs; slot < slots; ++slot) adjoint[slot] = adjoint_tiles + (slot - inputs) * tile_elements;
            run_forward(e_, plan.recompute, value, tiles, static_cast<T*>(nullptr), n);
            std::fill(written.begin(), written.end(), false);

            const T* seed = c.grad().data() + begin;
            if (e_.is_input(e_.output) && plan.adjoint[e_.output]) {
                std::copy_n(seed, n, adjoint[e_.output]);
                written[e_.output] = true;
            }
            for (std::size_t slot = slots; slot-- > inputs;) {
                if (!plan.adjoint[slot]) continue;
                const ElementwiseInstruction& instruction = e_.instruction_of(slot);
                const T* g = slot == e_.output ? seed : adjoint[slot];
                const T* b = detail::is_binary(instruction.op) ? value[instruction.b] : nullptr;
                const std::uint32_t operands[2] = {instruction.a, instruction.b};
                for (int which = 0; which < (detail::is_binary(instruction.op) ? 2 : 1); ++which) {
                    const std::uint32_t operand = operands[which];
                    if (!plan.adjoint[operand]) continue;
                    T* target = written[operand] ? contribution : adjoint[operand];
                    detail::apply_derivative(instruction, which, n, g, value[instruction.a], b, value[slot], target);
                    if (written[operand]) add_into(adjoint[operand], contribution, n);
                    written[operand] = true;
                }
            }
            for (std::size_t k = 0; k < inputs; ++k) {
                if (plan.adjoint[k] && !written[k]) std::fill_n(adjoint[k], n, T(0));
            }
        }
        for (std::size_t k = 0; k < inputs; ++k) {
            if (plan.adjoint[k]) c.accumulate(k, std::move(grads[k]));
        }
    }

private:
    struct Plan {
        std::vector<bool> adjoint;    // the slot carries a gradient from the output to an input that wants one
        std::vector<bool> recompute;  // the instruction's value is read by a derivative (or by such an instruction)
    };

    Plan make_plan(const GradContext<T>& c) const {
        const std::size_t slots = e_.program->slots();
        const std::size_t inputs = e_.program->inputs;
        // Forward: which slots depend on an input that wants a gradient.
        std::vector<bool> reaches_input(slots, false);
        for (std::size_t k = 0; k < inputs; ++k) reaches_input[k] = c.needs_grad(k);
        for (std::size_t slot = inputs; slot < slots; ++slot) {
            const ElementwiseInstruction& instruction = e_.instruction_of(slot);
            reaches_input[slot] = reaches_input[instruction.a] ||
                                  (detail::is_binary(instruction.op) && reaches_input[instruction.b]);
        }
        // Reverse: which of those the output's gradient reaches, and which values the derivatives read.
        Plan plan{std::vector<bool>(slots, false), std::vector<bool>(slots, false)};
        plan.adjoint[e_.output] = reaches_input[e_.output];
        for (std::size_t slot = slots; slot-- > inputs;) {
            const ElementwiseInstruction& instruction = e_.instruction_of(slot);
            const bool binary = detail::is_binary(instruction.op);
            if (plan.adjoint[slot]) {
                for (int which = 0; which < (binary ? 2 : 1); ++which) {
                    const std::uint32_t operand = which == 0 ? instruction.a : instruction.b;
                    if (!reaches_input[operand]) continue;
                    plan.adjoint[operand] = true;
                    switch (detail::derivative_reads(instruction.op)) {
                        case DerivativeReads::other_operand:
                            plan.recompute[which == 0 ? instruction.b : instruction.a] = true;
                            break;
                        case DerivativeReads::operand: plan.recompute[instruction.a] = true; break;
                        case DerivativeReads::result: plan.recompute[slot] = true; break;
                        case DerivativeReads::nothing: break;
                    }
                }
            }
            if (plan.recompute[slot]) {
                plan.recompute[instruction.a] = true;
                if (binary) plan.recompute[instruction.b] = true;
            }
        }
        return plan;
    }

    static void add_into(T* sum, const T* addend, std::size_t n) {
        using B = kernels::Batch<T>;
        kernels::map(n, sum, [](B s, B a) { return s + a; }, sum, addend);
    }

    FusedExpression e_;
};

}  // namespace

template <class T>
Var<T> fuse(std::span<const Var<T>> inputs, const ElementwiseFn& expression) {
    if (inputs.empty()) throw ValueError("fuse: no inputs");
    Tape<T>& tape = detail::tape_of(inputs[0], "fuse");
    for (std::size_t k = 1; k < inputs.size(); ++k) {
        detail::tape_of(inputs[0], inputs[k], "fuse");
        if (inputs[k].shape() != inputs[0].shape()) {
            throw ShapeError(fmt::format("fuse: input {} has shape {}, input 0 has shape {}", k,
                                         to_string(inputs[k].shape()), to_string(inputs[0].shape())));
        }
    }
    const std::vector<ElementwiseExpr> symbols = detail::ElementwiseBuilder::inputs(inputs.size());
    const ElementwiseExpr result = expression(symbols);
    if (result.program() != symbols[0].program()) {
        throw ValueError("fuse: the expression returned a value that it did not build from its inputs");
    }
    // A copy: the expression's values could still append to their program.
    const FusedExpression e{std::make_shared<const ElementwiseProgram>(*result.program()), result.slot()};
    xt::xarray<T> out = evaluate(tape, e, inputs);
    return tape.record("fuse", inputs, std::move(out), FusedBackward<T>(e));
}

template Var<float> fuse(std::span<const Var<float>>, const ElementwiseFn&);
template Var<double> fuse(std::span<const Var<double>>, const ElementwiseFn&);

}  // namespace xtape
