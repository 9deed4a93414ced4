// Planning a fused program's kernel calls on one tile, and its scratch tiles.
#include "tile_plan.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace xtape::detail {

TileAnalysis analyse(const ElementwiseProgram& program, std::uint32_t output, const InputFlags& wants_grad) {
    const std::size_t slots = program.slots();
    const std::size_t inputs = program.inputs;
    const auto instruction_of = [&](std::size_t slot) -> const ElementwiseInstruction& {
        return program.code[slot - inputs];
    };
    TileAnalysis analysis{std::vector<bool>(slots, false), std::vector<bool>(slots, false),
                          std::vector<bool>(slots, false), std::vector<bool>(slots, false)};
    analysis.forward[output] = true;
    for (std::size_t slot = slots; slot-- > inputs;) {
        if (!analysis.forward[slot]) continue;
        const ElementwiseInstruction& instruction = instruction_of(slot);
        analysis.forward[instruction.a] = true;
        if (is_binary(instruction.op)) analysis.forward[instruction.b] = true;
    }
    if (wants_grad.empty()) return analysis;
    // Forward: which slots depend on an input that wants a gradient (a
    // piecewise-constant op's result never does: no gradient flows through it).
    std::vector<bool> reaches_input(slots, false);
    for (std::size_t k = 0; k < inputs; ++k) reaches_input[k] = wants_grad[k];
    for (std::size_t slot = inputs; slot < slots; ++slot) {
        const ElementwiseInstruction& instruction = instruction_of(slot);
        reaches_input[slot] = !rules::traits(instruction.op).piecewise_constant &&
                              (reaches_input[instruction.a] || (is_binary(instruction.op) && reaches_input[instruction.b]));
    }
    // Reverse: which of those the output's gradient reaches, and which values the derivatives read.
    analysis.adjoint[output] = reaches_input[output];
    for (std::size_t slot = slots; slot-- > inputs;) {
        const ElementwiseInstruction& instruction = instruction_of(slot);
        const rules::OpTraits traits = rules::traits(instruction.op);
        const bool binary = traits.arity == 2;
        if (analysis.adjoint[slot]) {
            analysis.slope[slot] = traits.has_slope && reaches_input[instruction.a];
            for (int which = 0; which < traits.arity; ++which) {
                const std::uint32_t operand = which == 0 ? instruction.a : instruction.b;
                if (!reaches_input[operand]) continue;
                analysis.adjoint[operand] = true;
                const unsigned reads = traits.reads[which];
                if (reads & rules::reads_a) analysis.recompute[instruction.a] = true;
                if (reads & rules::reads_b) analysis.recompute[instruction.b] = true;
                if (reads & rules::reads_result) analysis.recompute[slot] = true;
            }
        }
        if (analysis.recompute[slot]) {
            analysis.recompute[instruction.a] = true;
            if (binary) analysis.recompute[instruction.b] = true;
        }
    }
    return analysis;
}

namespace {

using Kind = TileLocation::Kind;
using Kernel = TileCall::Kernel;

// Builds a plan with one virtual scratch tile per intermediate (a value, a
// slope, an adjoint of each instruction), then gives them physical tiles.
class Planner {
public:
    Planner(const ElementwiseProgram& program, std::uint32_t output, const TileAnalysis& analysis)
        : program_(program), output_(output), analysis_(analysis) {}

    TilePlan plan(TileMode mode) {
        evaluate(mode == TileMode::backward ? analysis_.recompute : analysis_.forward, mode);
        if (mode != TileMode::forward) sweep(mode == TileMode::forward_backward);
        if (mode == TileMode::forward_backward) plan_.output = value_of(output_);
        assign_tiles();
        return std::move(plan_);
    }

private:
    std::size_t code_size() const { return program_.code.size(); }
    const ElementwiseInstruction& instruction_of(std::uint32_t slot) const {
        return program_.code[slot - program_.inputs];
    }
    TileLocation scratch(std::size_t virtual_tile) const {
        return {Kind::scratch, static_cast<std::uint32_t>(virtual_tile)};
    }
    // The virtual tiles of an instruction's slot: its value, its slope, its adjoint.
    TileLocation value_of(std::uint32_t slot) const {
        return slot < program_.inputs ? TileLocation{Kind::input, slot} : scratch(slot - program_.inputs);
    }
    TileLocation slope_of(std::uint32_t slot) const { return scratch(code_size() + slot - program_.inputs); }
    TileLocation own_adjoint_of(std::uint32_t slot) const {
        return slot < program_.inputs ? TileLocation{Kind::grad, slot}
                                      : scratch(2 * code_size() + slot - program_.inputs);
    }

    // The marked instructions in order; the output goes to the caller's output in forward mode.
    void evaluate(const std::vector<bool>& marked, TileMode mode) {
        for (std::uint32_t slot = static_cast<std::uint32_t>(program_.inputs); slot < program_.slots(); ++slot) {
            if (!marked[slot]) continue;
            const ElementwiseInstruction& instruction = instruction_of(slot);
            TileCall call;
            call.instruction = slot - static_cast<std::uint32_t>(program_.inputs);
            call.a = value_of(instruction.a);
            if (is_binary(instruction.op)) call.b = value_of(instruction.b);
            call.target = mode == TileMode::forward && slot == output_ ? TileLocation{Kind::out} : value_of(slot);
            if (mode == TileMode::forward_backward && analysis_.slope[slot]) {
                call.kernel = Kernel::apply_with_slope;
                call.slope = slope_of(slot);
            }
            plan_.calls.push_back(call);
        }
    }

    // The reverse sweep. An intermediate's first contribution that is a copy of
    // the incoming gradient is not made: its adjoint is that gradient's location.
    // A later contribution is added to the first in the same call.
    void sweep(bool with_slopes) {
        const std::size_t slots = program_.slots();
        std::vector<TileLocation> adjoint(slots);
        std::vector<bool> written(slots, false);
        for (std::uint32_t slot = static_cast<std::uint32_t>(slots); slot-- > program_.inputs;) {
            if (!analysis_.adjoint[slot]) continue;
            const ElementwiseInstruction& instruction = instruction_of(slot);
            const bool binary = is_binary(instruction.op);
            const TileLocation g = slot == output_ ? TileLocation{Kind::seed} : adjoint[slot];
            for (int which = 0; which < (binary ? 2 : 1); ++which) {
                const std::uint32_t operand = which == 0 ? instruction.a : instruction.b;
                if (!analysis_.adjoint[operand]) continue;
                if (operand >= program_.inputs && !written[operand] &&
                    rules::traits(instruction.op).passes_gradient[which]) {
                    adjoint[operand] = g;
                } else {
                    TileCall call;
                    call.instruction = slot - static_cast<std::uint32_t>(program_.inputs);
                    call.which = which;
                    call.g = g;
                    if (with_slopes && analysis_.slope[slot]) {
                        call.kernel = Kernel::times_slope;
                        call.slope = slope_of(slot);
                    } else {
                        call.kernel = Kernel::derivative;
                        read_what_derivative_reads(call, instruction, slot);
                    }
                    if (written[operand]) call.addend = adjoint[operand];
                    call.target = own_adjoint_of(operand);
                    plan_.calls.push_back(call);
                    adjoint[operand] = call.target;
                }
                written[operand] = true;
            }
        }
    }

    void read_what_derivative_reads(TileCall& call, const ElementwiseInstruction& instruction,
                                    std::uint32_t slot) const {
        const unsigned reads = rules::traits(instruction.op).reads[call.which];
        if (reads & rules::reads_a) call.a = value_of(instruction.a);
        if (reads & rules::reads_b) call.b = value_of(instruction.b);
        if (reads & rules::reads_result) call.y = value_of(slot);
    }

    // Gives each virtual tile a physical one that is free from the call that
    // first writes it to the last call that reads it (not reused within a call).
    void assign_tiles() {
        const std::size_t virtual_tiles = 3 * code_size();
        constexpr std::size_t never = std::numeric_limits<std::size_t>::max();
        std::vector<std::size_t> last_read(virtual_tiles, 0);
        const auto read = [&](const TileLocation& l, std::size_t step) {
            if (l.kind == Kind::scratch) last_read[l.index] = std::max(last_read[l.index], step);
        };
        for (std::size_t step = 0; step < plan_.calls.size(); ++step) {
            const TileCall& call = plan_.calls[step];
            for (const TileLocation* l : {&call.a, &call.b, &call.y, &call.g, &call.addend}) read(*l, step);
            if (call.kernel == Kernel::times_slope) read(call.slope, step);
        }
        read(plan_.output, plan_.calls.size());  // read by the caller after the last call

        std::vector<std::size_t> physical(virtual_tiles, never);
        std::vector<std::size_t> busy_until;  // per physical tile, the last call that reads its value
        const auto assign = [&](const TileLocation& l, std::size_t step) {
            if (l.kind != Kind::scratch || physical[l.index] != never) return;
            std::size_t tile = 0;
            while (tile < busy_until.size() && busy_until[tile] >= step) ++tile;
            if (tile == busy_until.size()) busy_until.push_back(0);
            busy_until[tile] = std::max(last_read[l.index], step);
            physical[l.index] = tile;
        };
        for (std::size_t step = 0; step < plan_.calls.size(); ++step) {
            assign(plan_.calls[step].target, step);
            if (plan_.calls[step].kernel == Kernel::apply_with_slope) assign(plan_.calls[step].slope, step);
        }
        const auto rename = [&](TileLocation& l) {
            if (l.kind == Kind::scratch) l.index = static_cast<std::uint32_t>(physical[l.index]);
        };
        for (TileCall& call : plan_.calls) {
            for (TileLocation* l : {&call.a, &call.b, &call.y, &call.g, &call.addend, &call.slope, &call.target}) {
                rename(*l);
            }
        }
        rename(plan_.output);
        plan_.scratch_tiles = busy_until.size();
    }

    const ElementwiseProgram& program_;
    std::uint32_t output_;
    const TileAnalysis& analysis_;
    TilePlan plan_;
};

}  // namespace

TilePlan plan_tiles(const ElementwiseProgram& program, std::uint32_t output, const TileAnalysis& analysis,
                    TileMode mode) {
    return Planner(program, output, analysis).plan(mode);
}

namespace {

// What the plans depend on.
struct PlanKey {
    ElementwiseProgram program;
    std::uint32_t output;
    InputFlags wants_grad;

    bool matches(const ElementwiseProgram& other_program, std::uint32_t other_output,
                 const InputFlags& other_wants_grad) const {
        return output == other_output && wants_grad == other_wants_grad && same_program(program, other_program);
    }
};

std::shared_ptr<const TilePlans> make_plans(const PlanKey& key) {
    auto plans = std::make_shared<TilePlans>();
    plans->analysis = analyse(key.program, key.output, key.wants_grad);
    if (key.output < key.program.inputs) return plans;
    const auto plan = [&](TileMode mode) { return plan_tiles(key.program, key.output, plans->analysis, mode); };
    if (key.wants_grad.empty()) {
        plans->forward = plan(TileMode::forward);
    } else {
        plans->backward = plan(TileMode::backward);
        plans->forward_backward = plan(TileMode::forward_backward);
    }
    for (const TilePlan* p : {&plans->forward, &plans->backward, &plans->forward_backward}) {
        plans->scratch_tiles = std::max(plans->scratch_tiles, p->scratch_tiles);
    }
    return plans;
}

}  // namespace

std::shared_ptr<const TilePlans> tile_plans(const ElementwiseProgram& program, std::uint32_t output,
                                            const InputFlags& wants_grad) {
    using Entry = std::pair<PlanKey, std::shared_ptr<const TilePlans>>;
    thread_local RecentEntries<Entry> known;
    const Entry& entry = known.find_or_make(
        [&](const Entry& e) { return e.first.matches(program, output, wants_grad); },
        [&] {
            PlanKey key{program, output, wants_grad};
            std::shared_ptr<const TilePlans> plans = make_plans(key);
            return Entry{std::move(key), std::move(plans)};
        });
    return entry.second;
}

}  // namespace xtape::detail
