// Recording fused elementwise expressions, plain or summed over rows, and their backward passes.
#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xstorage.hpp>

#include "xtape/detail/op_support.hpp"
#include "xtape/errors.hpp"
#include "xtape/fuse.hpp"
#include "xtape/ops.hpp"

#include "../gradient_rows.hpp"
#include "../kernels/parallel.hpp"
#include "../kernels/reduction.hpp"
#include "../ops/differentiable.hpp"
#include "../thread_scratch.hpp"
#include "program.hpp"
#include "tile_program.hpp"

namespace xtape {

namespace {

using detail::elements_per_value;
using detail::ElementwiseInstruction;
using detail::ElementwiseProgram;
using detail::FusedExpression;
using detail::tile_elements;
using detail::TileProgram;

// Checks the inputs, builds the expression's program and returns it with its
// output slot. With `row_values`, inputs after the first may hold one value
// per row (elements_per_value); otherwise each has input 0's shape.
template <class T>
FusedExpression build(std::span<const Var<T>> inputs, const ElementwiseFn& expression, const char* op,
                      bool row_values) {
    if (inputs.empty()) throw ValueError(fmt::format("{}: no inputs", op));
    detail::tape_of(inputs[0], op);
    for (std::size_t k = 1; k < inputs.size(); ++k) {
        detail::tape_of(inputs[0], inputs[k], op);
        const Shape& shape = inputs[k].shape();
        if (row_values ? !elements_per_value(inputs[0].shape(), shape) : shape != inputs[0].shape()) {
            throw ShapeError(fmt::format("{}: input {} has shape {}, input 0 has shape {}{}", op, k, to_string(shape),
                                         to_string(inputs[0].shape()),
                                         row_values ? " (an input has input 0's shape, or it with trailing axes "
                                                      "of extent 1: one value per row)"
                                                    : ""));
        }
    }
    detail::ScratchVector<ElementwiseExpr> symbols;
    detail::ElementwiseBuilder::inputs(inputs.size(), *symbols);
    const ElementwiseExpr result = expression(*symbols);
    if (result.program() != symbols->front().program()) {
        throw ValueError(fmt::format("{}: the expression returned a value that it did not build from its inputs", op));
    }
    // Not the program built: the expression's values could still append to it.
    return {detail::shared_program(*result.program()), result.slot()};
}

// The primitives of `e` that its output depends on, for drawing the graph.
Composition composition_of(const FusedExpression& e) {
    const ElementwiseProgram& program = *e.program;
    std::vector<bool> needed(program.slots(), false);
    needed[e.output] = true;
    for (std::size_t slot = program.slots(); slot-- > program.inputs;) {
        if (!needed[slot]) continue;
        const ElementwiseInstruction& instruction = program.code[slot - program.inputs];
        needed[instruction.a] = true;
        if (detail::is_binary(instruction.op)) needed[instruction.b] = true;
    }
    // Steps are numbered among the needed ones only.
    Composition composition;
    composition.inputs = program.inputs;
    std::vector<std::uint32_t> renamed(program.slots());
    for (std::uint32_t k = 0; k < program.inputs; ++k) renamed[k] = k;
    for (std::size_t slot = program.inputs; slot < program.slots(); ++slot) {
        if (!needed[slot]) continue;
        const ElementwiseInstruction& instruction = program.code[slot - program.inputs];
        Composition::Step step{rules::traits(instruction.op).name, {renamed[instruction.a]}};
        if (detail::is_binary(instruction.op)) step.operands.push_back(renamed[instruction.b]);
        renamed[slot] = static_cast<std::uint32_t>(program.inputs + composition.steps.size());
        composition.steps.push_back(std::move(step));
    }
    composition.output = renamed[e.output];
    return composition;
}

// What a fused node reduces its expression's values with, if anything.
struct FusedReduction {
    enum class Kind { none, sum, mean } kind = Kind::none;
    Axes axes;
};

// Whether the output of `e` depends on input `wrt`, and each slot's answer.
std::vector<bool> depends_on(const FusedExpression& e, std::size_t wrt) {
    const ElementwiseProgram& program = *e.program;
    std::vector<bool> depends(program.slots(), false);
    depends[wrt] = true;
    for (std::size_t i = 0; i < program.code.size(); ++i) {
        const ElementwiseInstruction& instruction = program.code[i];
        depends[program.inputs + i] =
            depends[instruction.a] || (detail::is_binary(instruction.op) && depends[instruction.b]);
    }
    return depends;
}

// d(output of e)/d(input wrt) times a seed, as an expression of `symbols`: e's
// inputs, then the seed (divided by `divisor`). e's program is replayed on
// them, then swept in reverse with each rule's own derivative, written on
// expression values as it is on Vars. `depends` is depends_on(e, wrt); the
// output must depend on the input.
ElementwiseExpr gradient_expression(const FusedExpression& e, std::span<const ElementwiseExpr> symbols,
                                    std::size_t wrt, const std::vector<bool>& depends, double divisor) {
    const ElementwiseProgram& program = *e.program;
    std::vector<ElementwiseExpr> slots(symbols.begin(), symbols.begin() + static_cast<std::ptrdiff_t>(program.inputs));
    for (const ElementwiseInstruction& instruction : program.code) {
        const bool binary = detail::is_binary(instruction.op);
        slots.push_back(detail::ElementwiseBuilder::append(instruction, slots[instruction.a],
                                                           binary ? &slots[instruction.b] : nullptr));
    }
    std::vector<std::optional<ElementwiseExpr>> adjoint(program.slots());
    adjoint[e.output] = divisor == 1 ? symbols.back() : div(symbols.back(), divisor);
    for (std::size_t i = program.code.size(); i-- > 0;) {
        const std::size_t slot = program.inputs + i;
        if (!adjoint[slot] || !depends[slot]) continue;
        const ElementwiseInstruction& instruction = program.code[i];
        rules::visit_rule(instruction.op, [&]<class R>() {
            if constexpr (!rules::PiecewiseConstant<R>) {
                for (int which = 0; which < R::arity; ++which) {
                    const std::uint32_t operand = which == 0 ? instruction.a : instruction.b;
                    if (!depends[operand]) continue;
                    const ElementwiseExpr& a = slots[instruction.a];
                    const ElementwiseExpr& b = R::arity == 2 ? slots[instruction.b] : a;  // unread by a unary rule
                    const ElementwiseExpr d =
                        R::derivative(which, *adjoint[slot], a, b, slots[slot], instruction.scalars);
                    adjoint[operand] = adjoint[operand] ? add(*adjoint[operand], d) : d;
                }
            }
        });
    }
    return *adjoint[wrt];
}

// The values of the node "fuse" for `e` of `inputs`, and that node recorded
// with them (defined with fuse below).
template <class T>
xt::xarray<T> fused_values(std::span<const Var<T>> inputs, const FusedExpression& e);
template <class T>
Var<T> record_fuse(std::span<const Var<T>> inputs, const FusedExpression& e, xt::xarray<T>&& values);

// The differentiable backward of a fused node: each input's gradient is one
// fused node of the inputs and the seed (the node's gradient, one value per
// row when the reduced axes are rows, else broadcast back over them), so a
// second sweep is one pass per gradient, as the first, and its own backward is
// this again. The gradient rows that fuse_sum
// computed with its value, if still there, are that node's value scaled by the
// seed: no pass at all for the values.
template <class T>
void fused_differentiable_backward(VarGradContext<T>& c, const FusedExpression& e, const FusedReduction& reduction,
                                   const std::optional<detail::GradientRows<T>>& rows) {
    std::vector<Var<T>> operands;
    for (std::size_t k = 0; k < e.program->inputs; ++k) operands.push_back(c.input(k));
    const Shape& shape = operands[0].shape();
    Var<T> seed = c.grad();
    double divisor = 1;
    if (reduction.kind != FusedReduction::Kind::none) {
        Shape kept = shape;
        const char* op = reduction.kind == FusedReduction::Kind::mean ? "fuse_mean" : "fuse_sum";
        for (std::size_t axis : normalize_axes(reduction.axes, shape.size(), op)) {
            kept[axis] = 1;
            if (reduction.kind == FusedReduction::Kind::mean) divisor *= static_cast<double>(shape[axis]);
        }
        seed = detail::row_values_or_broadcast(reshape(seed, kept), shape);
    }
    operands.push_back(seed);
    for (std::size_t k = 0; k < e.program->inputs; ++k) {
        if (!c.needs_grad(k)) continue;
        const std::vector<bool> depends = depends_on(e, k);
        if (!depends[e.output]) continue;
        const FusedExpression gradient = build<T>(operands, [&](std::span<const ElementwiseExpr> symbols) {
            return gradient_expression(e, symbols, k, depends, divisor);
        }, "fuse", true);
        std::optional<xt::xarray<T>> values = rows ? rows->take(k, seed.value()) : std::nullopt;
        if (!values) values = fused_values<T>(operands, gradient);
        c.accumulate(k, record_fuse<T>(operands, gradient, std::move(*values)));
    }
}

// Records a fused node, with its composition for the graph and its
// differentiable backward (which takes `rows`, the gradient rows kept for the
// first backward, if they are still there). `backward` is any callable, kept
// by the tape (as a std::function it would allocate).
template <class T, class Backward>
Var<T> record_fused(Tape<T>& tape, const char* op, std::span<const Var<T>> inputs, xt::xarray<T>&& value,
                    const FusedExpression& e, Backward&& backward, FusedReduction reduction = {},
                    std::optional<detail::GradientRows<T>> rows = std::nullopt) {
    const Var<T> y = tape.record(op, inputs, std::move(value), std::forward<Backward>(backward),
                                 [e, reduction = std::move(reduction), rows = std::move(rows)](VarGradContext<T>& c) {
        fused_differentiable_backward(c, e, reduction, rows);
    });
    tape.set_composition(y, [e] { return composition_of(e); });
    return y;
}

// Pointers into each input's (or gradient's) array: inline for the few arrays
// of a program, so that a fused call allocates none of them.
template <class P>
using Pointers = xt::svector<P, 8>;

// at[k] = data[k] + begin for each array, null for a null one.
template <class P>
void point_at(const Pointers<P>& data, std::size_t begin, Pointers<P>& at) {
    for (std::size_t k = 0; k < at.size(); ++k) at[k] = data[k] == nullptr ? nullptr : data[k] + begin;
}

// Nulls the inputs in `reads` whose values `program`'s backward never reads
// (a derivative that is constant, as that of L2's gradient): their tiles are
// not fetched.
template <class T>
void leave_out_unread(const TileProgram<T>& program, Pointers<const T*>& reads) {
    for (std::size_t k = 0; k < reads.size(); ++k) {
        if (!program.backward_reads(k)) reads[k] = nullptr;
    }
}

// Which inputs of a node want a gradient.
template <class T>
detail::InputFlags wanted_grads(const GradContext<T>& c, std::size_t inputs) {
    detail::InputFlags wanted(inputs, false);
    for (std::size_t k = 0; k < inputs; ++k) wanted[k] = c.needs_grad(k);
    return wanted;
}

// The gradients that `program` gives (empty for the inputs it gives none: no
// array allocated).
template <class T>
struct InputGradients {
    detail::ScratchVector<std::optional<xt::xarray<T>>> room;  // so that a step allocates no vector
    std::vector<std::optional<xt::xarray<T>>>& arrays = *room;

    // `storage` (a tape or a gradient context) provides the arrays, of the shapes shape_of(k).
    template <class Storage, class ShapeOf>
    InputGradients(Storage& storage, ShapeOf shape_of, const TileProgram<T>& program, std::size_t inputs) {
        arrays.resize(inputs);
        for (std::size_t k = 0; k < inputs; ++k) {
            if (program.gives_grad(k)) arrays[k] = storage.buffer(shape_of(k));
        }
    }
    // The gradient arrays given, null for the others.
    Pointers<T*> data() {
        Pointers<T*> data(arrays.size(), nullptr);
        for (std::size_t k = 0; k < arrays.size(); ++k) data[k] = arrays[k] ? arrays[k]->data() : nullptr;
        return data;
    }
    void hand_over(GradContext<T>& c) {
        for (std::size_t k = 0; k < arrays.size(); ++k) {
            if (arrays[k]) c.accumulate(k, std::move(*arrays[k]));
        }
    }
};

// The arrays of `size` elements that a loop over tiles reads and writes: the
// tile program prefetches the tile after the one it works on.
template <class T>
class TileStreams {
public:
    TileStreams(std::size_t size, Pointers<const T*> reads, Pointers<T*> writes)
        : size_(size), reads_(std::move(reads)), writes_(std::move(writes)),
          next_reads_(reads_.size()), next_writes_(writes_.size()) {}

    // Before `program` works on [begin, begin + count): the tile after it.
    void prefetch_after(TileProgram<T>& program, std::size_t begin, std::size_t count) {
        const std::size_t next = begin + count;
        for (std::size_t k = 0; k < reads_.size(); ++k) next_reads_[k] = reads_[k] ? reads_[k] + next : nullptr;
        for (std::size_t k = 0; k < writes_.size(); ++k) next_writes_[k] = writes_[k] ? writes_[k] + next : nullptr;
        program.prefetch(next_reads_, next_writes_, std::min(count, size_ - next));
    }

private:
    std::size_t size_;
    Pointers<const T*> reads_;
    Pointers<T*> writes_;
    Pointers<const T*> next_reads_;
    Pointers<T*> next_writes_;
};

// The data of each array, from arrays(k) for k < count.
template <class T, class Arrays>
Pointers<const T*> data_of(const Arrays& arrays, std::size_t count) {
    Pointers<const T*> data(count);
    for (std::size_t k = 0; k < count; ++k) data[k] = arrays(k).data();
    return data;
}

// The tiles of an array of `size` elements.
std::size_t tile_count(std::size_t size) { return (size + tile_elements - 1) / tile_elements; }

// Calls run(row, first, last) for each run of the elements [begin, begin + count)
// of a tile that lies within one row of n > 0 elements; first and last are
// offsets in the tile.
template <class Run>
void for_each_row_run(std::size_t begin, std::size_t count, std::size_t n, Run run) {
    for (std::size_t j = begin; j < begin + count;) {
        const std::size_t row = j / n;
        const std::size_t end = std::min((row + 1) * n, begin + count);
        run(row, j - begin, end - begin);
        j = end;
    }
}

// A tile of one input's values, expanded from one value per row, or of its gradient.
template <class T>
struct alignas(64) RowTile {
    T values[tile_elements];
};

// A part of a row's sum (RowSums, RowReduction), in a per-thread store of its own type.
template <class T>
struct RowPart {
    T sum;
};

// The sums over each row of n elements of a gradient that fuse's backward
// computes tile by tile (tiles of tile_elements from element 0): a row within
// one tile is summed there; a row across tiles gets a part from each tile,
// added after the loop in tile order. So the sums do not depend on how the
// tiles were shared between threads.
template <class T>
class RowSums {
public:
    // `sums`: one per row; `parts`: two per tile (its first and its last row,
    // when they cross its edges).
    RowSums() = default;
    RowSums(std::size_t n, std::size_t rows, T* sums, RowPart<T>* parts)
        : n_(n), rows_(rows), sums_(sums), parts_(parts) {}

    // Sums elements [begin, begin + count) of the gradient, tile `tile`, given in `gradient`.
    void add_tile(std::size_t tile, std::size_t begin, std::size_t count, const T* gradient) const {
        for_each_row_run(begin, count, n_, [&](std::size_t row, std::size_t first, std::size_t last) {
            T sum;
            kernels::sum_block(gradient + first, {1, last - first, 1}, &sum);
            (crosses_tiles(row) ? part(tile, row) : sums_[row]) = sum;
        });
    }

    // The sums of the rows that cross tiles, from their parts.
    void add_parts() const {
        for (std::size_t row = 0; row < rows_; ++row) {
            if (!crosses_tiles(row)) continue;
            const std::size_t first = row * n_ / tile_elements;
            const std::size_t last = ((row + 1) * n_ - 1) / tile_elements;
            T sum = part(first, row);
            for (std::size_t tile = first + 1; tile <= last; ++tile) sum += part(tile, row);
            sums_[row] = sum;
        }
    }

private:
    bool crosses_tiles(std::size_t row) const {
        return row * n_ / tile_elements != ((row + 1) * n_ - 1) / tile_elements;
    }
    T& part(std::size_t tile, std::size_t row) const {
        return parts_[2 * tile + (row == tile * tile_elements / n_ ? 0 : 1)].sum;
    }

    std::size_t n_ = 1;
    std::size_t rows_ = 0;
    T* sums_ = nullptr;
    RowPart<T>* parts_ = nullptr;
};

// The inputs of a fused node that hold one value per row of n != 1 elements
// (elements_per_value): a tile reads each expanded into a tile of the
// thread's own, so that the value is never broadcast in memory; the backward
// writes each one's gradient to a tile of its own, summed over rows at once.
template <class T>
class RowValueInputs {
public:
    // The row sums of the gradients wanted, each with its input's place among these.
    using Sums = xt::svector<std::pair<std::size_t, RowSums<T>>, 4>;

    // Of the arrays(k) for k < count, with input 0's shape.
    template <class Arrays>
    RowValueInputs(const Arrays& arrays, std::size_t count) {
        const Shape& full = arrays(0).shape();
        for (std::size_t k = 1; k < count; ++k) {
            const std::size_t n = *elements_per_value(full, arrays(k).shape());
            if (n != 1) inputs_.push_back({k, n, arrays(k).data()});  // n = 0: rows of no elements
        }
    }

    // Nulls their pointers in `pointers` (arrays of input 0's size, streamed tile by tile).
    template <class P>
    void leave_out(Pointers<P>& pointers) const {
        for (const Input& input : inputs_) pointers[input.k] = nullptr;
    }

    // Points at[k] of each of them at its values over elements [begin, begin + count),
    // written into `tiles` (of the calling thread).
    void expand(std::size_t begin, std::size_t count, std::vector<RowTile<T>>& tiles, Pointers<const T*>& at) const {
        tiles.resize(2 * inputs_.size());
        for (std::size_t i = 0; i < inputs_.size(); ++i) {
            const Input& input = inputs_[i];
            T* tile = tiles[i].values;
            for_each_row_run(begin, count, input.n, [&](std::size_t row, std::size_t first, std::size_t last) {
                std::fill(tile + first, tile + last, input.values[row]);
            });
            at[input.k] = tile;
        }
    }

    // For the backward of `program` over `size` elements: the row sums of the
    // gradient of each input that gets one, into `gradients` (of the inputs'
    // shapes), with their parts in `parts`. The program writes those
    // gradients in place, to the tiles of gradient_tiles().
    Sums sums(TileProgram<T>& program, InputGradients<T>& gradients, std::size_t size,
              std::vector<RowPart<T>>& parts) const {
        Sums sums;
        const std::size_t per_input = 2 * tile_count(size);
        parts.resize(per_input * inputs_.size());
        for (std::size_t i = 0; i < inputs_.size(); ++i) {
            const Input& input = inputs_[i];
            if (!program.gives_grad(input.k)) continue;
            xt::xarray<T>& gradient = *gradients.arrays[input.k];
            if (size == 0) {  // no tiles: sums of nothing
                std::fill(gradient.begin(), gradient.end(), T(0));
                continue;
            }
            program.write_in_place(input.k);
            sums.push_back({i, RowSums<T>(input.n, gradient.size(), gradient.data(), parts.data() + i * per_input)});
        }
        return sums;
    }

    // Points grads_at[k] of each input in `sums` at its gradient tile.
    void gradient_tiles(std::vector<RowTile<T>>& tiles, const Sums& sums, Pointers<T*>& grads_at) const {
        tiles.resize(2 * inputs_.size());
        for (const auto& [i, row_sums] : sums) grads_at[inputs_[i].k] = tiles[inputs_.size() + i].values;
    }

    // The row sums of tile `tile`'s gradient tiles.
    void sum_tile(const std::vector<RowTile<T>>& tiles, const Sums& sums, std::size_t tile, std::size_t begin,
                  std::size_t count) const {
        for (const auto& [i, row_sums] : sums) row_sums.add_tile(tile, begin, count, tiles[inputs_.size() + i].values);
    }

private:
    struct Input {
        std::size_t k;
        std::size_t n;
        const T* values;
    };
    xt::svector<Input, 4> inputs_;
};

// Calls body(program, first, last) for ranges [first, last) of `tiles` tiles
// split between threads (kernels/parallel.hpp): with `program` on the calling
// thread, with a copy of it (scratch tiles of its own) on each other one.
template <class T, class Body>
void on_tile_ranges(TileProgram<T>& program, std::size_t tiles, Body body) {
    kernels::parallel_for(tiles, tile_elements, [&](std::size_t first, std::size_t last, bool on_calling_thread) {
        std::optional<TileProgram<T>> copy;
        body(on_calling_thread ? program : copy.emplace(program), first, last);
    });
}

// The tiles of `rows` contiguous rows of n > 0 elements: a tile holds whole
// rows when rows are shorter than a tile, else a part of one row.
struct RowTiles {
    std::size_t rows;
    std::size_t n;

    bool split_rows() const { return n >= tile_elements; }
    std::size_t tiles_per_row() const { return tile_count(n); }   // when split_rows()
    std::size_t rows_per_tile() const { return tile_elements / n; }  // otherwise
    std::size_t count() const {
        return split_rows() ? rows * tiles_per_row() : (rows + rows_per_tile() - 1) / rows_per_tile();
    }

    // Calls visit(tile, begin, count, first_row, whole_rows) for tiles [first, last):
    // whole_rows > 0 whole rows, or (whole_rows == 0) a part of row first_row.
    template <class Visit>
    void visit(std::size_t first, std::size_t last, Visit visit) const {
        for (std::size_t tile = first; tile < last; ++tile) {
            if (split_rows()) {
                const std::size_t row = tile / tiles_per_row();
                const std::size_t offset = tile % tiles_per_row() * tile_elements;
                visit(tile, row * n + offset, std::min(tile_elements, n - offset), row, std::size_t(0));
            } else {
                const std::size_t row = tile * rows_per_tile();
                const std::size_t whole_rows = std::min(rows_per_tile(), rows - row);
                visit(tile, row * n, whole_rows * n, row, whole_rows);
            }
        }
    }
};

// Sums of `rows` contiguous rows of n elements of a fused expression, each
// divided by `divisor` (n for a mean, 1 for a sum): the forward and the
// backward of fuse_sum and fuse_mean in the one-pass case.
struct RowReduction {
    std::size_t rows;
    std::size_t n;
    std::size_t divisor;

    // The reduced values; with `gradients`, also d out_row / d input for every
    // input that wants a gradient (the backward with seed 1), from the same tiles.
    template <class T>
    xt::xarray<T> forward(Tape<T>& tape, const FusedExpression& e, std::span<const Var<T>> inputs,
                          const Shape& out_shape, InputGradients<T>* gradients, TileProgram<T>* sweep) const {
        xt::xarray<T> out = tape.buffer(out_shape);
        std::optional<TileProgram<T>> program;  // for the values alone
        if (!gradients) program.emplace(e);
        // Tiles are at most tile_elements long, and no longer than the input.
        alignas(64) std::array<T, tile_elements> unit_seed;
        if (gradients) std::fill_n(unit_seed.begin(), std::min(tile_elements, rows * n), T(1) / static_cast<T>(divisor));
        const auto value_of = [&](std::size_t k) -> const xt::xarray<T>& { return inputs[k].value(); };
        const Pointers<const T*> reads = data_of<T>(value_of, inputs.size());
        const Pointers<T*> writes = gradients ? gradients->data() : Pointers<T*>{};
        const RowTiles tiles{rows, n};
        // The sums of the parts of rows longer than a tile, tile by tile: added
        // below in order, wherever the threads' shares of the tiles end.
        detail::ScratchVector<RowPart<T>> parts;
        parts->resize(tiles.split_rows() ? tiles.count() : 0);
        on_tile_ranges(gradients ? *sweep : *program, tiles.count(),
                       [&](TileProgram<T>& p, std::size_t first, std::size_t last) {
            alignas(64) std::array<T, tile_elements> values;
            Pointers<const T*> at(reads.size());
            Pointers<T*> grads_at(writes.size());
            TileStreams<T> streams(rows * n, reads, writes);
            tiles.visit(first, last, [&](std::size_t tile_index, std::size_t begin, std::size_t count, std::size_t row,
                                         std::size_t whole) {
                point_at(reads, begin, at);
                streams.prefetch_after(p, begin, count);
                const T* tile = values.data();
                if (gradients) {
                    point_at(writes, begin, grads_at);
                    tile = p.forward_backward(at, grads_at, unit_seed.data(), count);
                } else {
                    p.forward(at, count, values.data());
                }
                if (whole > 0) return kernels::sum_block(tile, {whole, n, 1}, out.data() + row);
                kernels::sum_block(tile, {1, count, 1}, &(*parts)[tile_index].sum);
            });
        });
        for (std::size_t row = 0; tiles.split_rows() && row < rows; ++row) {
            const RowPart<T>* row_parts = parts->data() + row * tiles.tiles_per_row();
            out.data()[row] = row_parts[0].sum;
            for (std::size_t j = 1; j < tiles.tiles_per_row(); ++j) out.data()[row] = out.data()[row] + row_parts[j].sum;
        }
        const T d = static_cast<T>(divisor);
        if (divisor != 1) std::for_each(out.begin(), out.end(), [d](T& v) { v /= d; });
        return out;
    }

    template <class T>
    void backward(GradContext<T>& c, const FusedExpression& e) const {
        const std::size_t inputs = e.program->inputs;
        TileProgram<T> program(e, wanted_grads(c, inputs), rows * n);
        InputGradients<T> grads(c, [&](std::size_t k) -> const Shape& { return c.input(k).shape(); }, program, inputs);
        const T* g = c.grad().data();
        const T d = static_cast<T>(divisor);
        const auto input = [&](std::size_t k) -> const xt::xarray<T>& { return c.input(k); };
        Pointers<const T*> reads = data_of<T>(input, inputs);
        leave_out_unread(program, reads);
        const Pointers<T*> writes = grads.data();
        const RowTiles tiles{rows, n};
        on_tile_ranges(program, tiles.count(), [&](TileProgram<T>& p, std::size_t first, std::size_t last) {
            alignas(64) std::array<T, tile_elements> seed;
            Pointers<const T*> at(reads.size());
            Pointers<T*> grads_at(writes.size());
            TileStreams<T> streams(rows * n, reads, writes);
            tiles.visit(first, last, [&](std::size_t, std::size_t begin, std::size_t count, std::size_t row,
                                         std::size_t whole) {
                // d (sum_j y_j / divisor) / d y_j = 1 / divisor, times the row's incoming gradient
                for (std::size_t r = 0; r < std::max<std::size_t>(whole, 1); ++r) {
                    std::fill_n(seed.data() + r * n, whole > 0 ? n : count, g[row + r] / d);
                }
                point_at(reads, begin, at);
                point_at(writes, begin, grads_at);
                streams.prefetch_after(p, begin, count);
                p.backward(at, grads_at, seed.data(), count);
            });
        });
        grads.hand_over(c);
    }
};

// The reduced axes of `shape` as contiguous rows, or nullopt when they are not
// (or when there is nothing to reduce, which the composed ops report).
std::optional<kernels::BlockReduction> as_rows(const Shape& shape, const Axes& axes, const char* op) {
    const AxisList normalized = normalize_axes(axes, shape.size(), op);
    std::size_t size = 1;
    for (std::size_t extent : shape) size *= extent;
    if (size == 0) return std::nullopt;
    const auto block = kernels::block_reduction(shape, normalized);
    if (!block || block->inner != 1) return std::nullopt;
    return block;
}

// The shape left after reducing `axes`.
Shape reduced_shape(const Shape& shape, const Axes& axes, const char* op) {
    const AxisList normalized = normalize_axes(axes, shape.size(), op);
    Shape out;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        if (std::find(normalized.begin(), normalized.end(), axis) == normalized.end()) out.push_back(shape[axis]);
    }
    return out;
}

// fuse_sum and fuse_mean.
template <class T>
Var<T> fuse_reduced(std::span<const Var<T>> inputs, const ElementwiseFn& expression, const Axes& axes, bool mean,
                    const char* op) {
    const FusedExpression e = build(inputs, expression, op, false);
    const Shape& shape = inputs[0].shape();
    const auto rows = as_rows(shape, axes, op);
    if (!rows) {
        const Var<T> y = fuse(inputs, expression);
        return mean ? xtape::mean(y, axes) : sum(y, axes);
    }
    const RowReduction reduction{rows->outer, rows->reduced, mean ? rows->reduced : 1};
    const FusedReduction plain{mean ? FusedReduction::Kind::mean : FusedReduction::Kind::sum, axes};
    Tape<T>& tape = inputs[0].tape();
    const Shape out_shape = reduced_shape(shape, axes, op);
    detail::InputFlags wants_grad(inputs.size(), false);
    for (std::size_t k = 0; k < inputs.size(); ++k) wants_grad[k] = inputs[k].requires_grad();
    if (!tape.grad_enabled() || std::none_of(wants_grad.begin(), wants_grad.end(), [](bool w) { return w; })) {
        xt::xarray<T> out = reduction.forward<T>(tape, e, inputs, out_shape, nullptr, nullptr);
        return record_fused<T>(
            tape, op, inputs, std::move(out), e, [e, reduction](GradContext<T>& c) { reduction.backward(c, e); },
            plain);
    }
    // Row r of the output depends on row r of the inputs alone: its gradient
    // rows come from the same pass as the values (detail::GradientRows).
    TileProgram<T> sweep(e, wants_grad, reduction.rows * reduction.n);
    InputGradients<T> grads(tape, [&](std::size_t k) -> const Shape& { return inputs[k].shape(); }, sweep, inputs.size());
    xt::xarray<T> out = reduction.forward(tape, e, inputs, out_shape, &grads, &sweep);
    detail::GradientRows<T> gradient_rows(inputs.size());
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        if (grads.arrays[k]) gradient_rows.keep(tape, k, std::move(*grads.arrays[k]));
    }
    return record_fused<T>(
        tape, op, inputs, std::move(out), e,
        [e, reduction, gradient_rows](GradContext<T>& c) mutable {
            if (!gradient_rows.hand_over(c)) reduction.backward(c, e);
        },
        plain, gradient_rows);
}

template <class T>
xt::xarray<T> fused_values(std::span<const Var<T>> inputs, const FusedExpression& e) {
    xt::xarray<T> out = inputs[0].tape().buffer(inputs[0].shape());
    TileProgram<T> program(e);
    const auto value_of = [&](std::size_t k) -> const xt::xarray<T>& { return inputs[k].value(); };
    const RowValueInputs<T> row_values(value_of, inputs.size());
    Pointers<const T*> reads = data_of<T>(value_of, inputs.size());
    row_values.leave_out(reads);
    const std::size_t size = out.size();
    on_tile_ranges(program, tile_count(size), [&](TileProgram<T>& p, std::size_t first, std::size_t last) {
        Pointers<const T*> at(reads.size());
        detail::ScratchVector<RowTile<T>> row_tiles;
        TileStreams<T> streams(size, reads, {out.data()});
        for (std::size_t begin = first * tile_elements; begin < std::min(last * tile_elements, size);
             begin += tile_elements) {
            const std::size_t count = std::min(tile_elements, size - begin);
            point_at(reads, begin, at);
            row_values.expand(begin, count, *row_tiles, at);
            streams.prefetch_after(p, begin, count);
            p.forward(at, count, out.data() + begin);
        }
    });
    return out;
}

template <class T>
Var<T> record_fuse(std::span<const Var<T>> inputs, const FusedExpression& e, xt::xarray<T>&& values) {
    return record_fused<T>(inputs[0].tape(), "fuse", inputs, std::move(values), e, [e](GradContext<T>& c) {
        const std::size_t inputs_count = e.program->inputs;
        const std::size_t size = c.grad().size();
        TileProgram<T> program(e, wanted_grads(c, inputs_count), size);
        const auto input = [&](std::size_t k) -> const xt::xarray<T>& { return c.input(k); };
        InputGradients<T> grads(c, [&](std::size_t k) -> const Shape& { return c.input(k).shape(); }, program,
                                inputs_count);
        const RowValueInputs<T> row_values(input, inputs_count);
        detail::ScratchVector<RowPart<T>> parts;
        const auto row_sums = row_values.sums(program, grads, size, *parts);
        const T* g = c.grad().data();
        Pointers<const T*> reads = data_of<T>(input, inputs_count);
        row_values.leave_out(reads);
        leave_out_unread(program, reads);
        reads.push_back(g);  // prefetched with the inputs
        Pointers<T*> writes = grads.data();
        row_values.leave_out(writes);
        on_tile_ranges(program, tile_count(size), [&](TileProgram<T>& p, std::size_t first, std::size_t last) {
            Pointers<const T*> at(inputs_count);
            Pointers<T*> grads_at(writes.size());
            detail::ScratchVector<RowTile<T>> row_tiles;
            TileStreams<T> streams(size, reads, writes);
            for (std::size_t tile = first; tile < last; ++tile) {
                const std::size_t begin = tile * tile_elements;
                const std::size_t count = std::min(tile_elements, size - begin);
                point_at(reads, begin, at);
                row_values.expand(begin, count, *row_tiles, at);
                point_at(writes, begin, grads_at);
                row_values.gradient_tiles(*row_tiles, row_sums, grads_at);
                streams.prefetch_after(p, begin, count);
                p.backward(at, grads_at, g + begin, count);
                row_values.sum_tile(*row_tiles, row_sums, tile, begin, count);
            }
        });
        for (const auto& [i, sums] : row_sums) sums.add_parts();
        grads.hand_over(c);
    });
}

}  // namespace

template <class T>
Var<T> fuse(std::span<const Var<T>> inputs, const ElementwiseFn& expression) {
    const FusedExpression e = build(inputs, expression, "fuse", true);
    return record_fuse(inputs, e, fused_values(inputs, e));
}

template <class T>
Var<T> fuse_sum(std::span<const Var<T>> inputs, const ElementwiseFn& expression, const Axes& axes) {
    return fuse_reduced(inputs, expression, axes, false, "fuse_sum");
}

template <class T>
Var<T> fuse_mean(std::span<const Var<T>> inputs, const ElementwiseFn& expression, const Axes& axes) {
    return fuse_reduced(inputs, expression, axes, true, "fuse_mean");
}

#define XTAPE_INSTANTIATE(T)                                                                  \
    template Var<T> fuse(std::span<const Var<T>>, const ElementwiseFn&);                      \
    template Var<T> fuse_sum(std::span<const Var<T>>, const ElementwiseFn&, const Axes&);     \
    template Var<T> fuse_mean(std::span<const Var<T>>, const ElementwiseFn&, const Axes&);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
