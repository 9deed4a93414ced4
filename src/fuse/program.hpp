// The program of an elementwise expression: primitives (the rules of
// rules/elementwise.hpp) over numbered slots.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <xtensor/xstorage.hpp>

#include "xtape/fuse.hpp"

#include "../rules/elementwise.hpp"

namespace xtape::detail {

using ElementwiseOp = rules::Op;

/// One primitive: its result = op(slot a[, slot b], scalars).
struct ElementwiseInstruction {
    ElementwiseOp op;
    std::uint32_t a = 0;
    std::uint32_t b = 0;  // the second slot of a binary op
    rules::Scalars scalars = {};
};

/// True for the ops that take two slots.
inline bool is_binary(ElementwiseOp op) { return rules::traits(op).arity == 2; }

/// Slots 0 .. inputs-1 hold the inputs; slot inputs + i the result of code[i].
/// Instructions read only earlier slots, so the code is in evaluation order.
struct ElementwiseProgram {
    std::size_t inputs = 0;
    std::vector<ElementwiseInstruction> code;

    std::size_t slots() const { return inputs + code.size(); }
};

/// Whether two programs run the same instructions on the same inputs, their
/// scalars compared by their bits (x * 0.0 and x * -0.0 differ).
bool same_program(const ElementwiseProgram& x, const ElementwiseProgram& y);

/// A program equal to `built`, immutable and shared with the earlier calls
/// on this thread that gave the same program (RecentEntries): a training loop
/// builds the same expressions at every step, and a copy of each would allocate.
std::shared_ptr<const ElementwiseProgram> shared_program(const ElementwiseProgram& built);

/// The last `kept` entries made on a thread (one such store per thread),
/// searched before making another: what is derived from a program (a shared
/// copy, its tile plans) is the same at every step of a training loop, and
/// making it allocates.
template <class Entry, std::size_t kept = 16>
class RecentEntries {
public:
    /// The first kept entry for which `matches` holds, else `make()`, kept in
    /// place of the oldest when the store is full.
    template <class Matches, class Make>
    const Entry& find_or_make(Matches matches, Make make) {
        for (const Entry& entry : entries_) {
            if (matches(entry)) return entry;
        }
        if (entries_.size() < kept) return entries_.emplace_back(make());
        Entry& replaced = entries_[next_replaced_];
        replaced = make();
        next_replaced_ = (next_replaced_ + 1) % kept;
        return replaced;
    }

private:
    std::vector<Entry> entries_;
    std::size_t next_replaced_ = 0;
};

/// One flag per input of a program (which inputs want a gradient), inline for
/// the few inputs a program has.
using InputFlags = xt::svector<bool, 8>;

/// Makes expression values: the only code that sees their constructor.
struct ElementwiseBuilder {
    /// Sets `values` to the inputs of a new program with `count` inputs. The
    /// thread's program under construction is reused once none of its values
    /// is left, so building allocates nothing once its instructions have been
    /// built before.
    static void inputs(std::size_t count, std::vector<ElementwiseExpr>& values);

    /// The result of `instruction` appended to the program of its operands
    /// (`b` for the binary ops only); throws ValueError naming the op when the
    /// operands belong to different programs.
    static ElementwiseExpr append(ElementwiseInstruction instruction, const ElementwiseExpr& a,
                                  const ElementwiseExpr* b = nullptr);
};

}  // namespace xtape::detail
