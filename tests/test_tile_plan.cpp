// The plans that run fused programs on a tile: scratch tiles reused once their
// values are dead, copies of the incoming gradient not made, plans (and the
// programs themselves) kept per thread; and the prefetcher that spreads its
// requests over a plan's calls.
// (test_fuse checks the values and gradients that the plans compute.)
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "../src/fuse/tile_plan.hpp"
#include "../src/fuse/tile_prefetcher.hpp"

using namespace xtape::detail;

namespace {

// x -> x * 2 -> ... : `length` instructions on one input, each reading the one before.
ElementwiseProgram chain(ElementwiseOp op, std::size_t length) {
    ElementwiseProgram program;
    program.inputs = 1;
    for (std::uint32_t slot = 0; slot < length; ++slot) program.code.push_back({op, slot, 0, {2.0}});
    return program;
}

std::uint32_t last_slot(const ElementwiseProgram& program) {
    return static_cast<std::uint32_t>(program.slots() - 1);
}

}  // namespace

TEST_CASE("tile plans: a chain whose derivatives read nothing runs in a few scratch tiles, whatever its length") {
    const ElementwiseProgram program = chain(ElementwiseOp::mul_scalar, 20);
    const std::uint32_t output = last_slot(program);
    const TileAnalysis values = analyse(program, output, {});
    const TileAnalysis gradients = analyse(program, output, {true});
    // Each value is dead once the next is computed, each adjoint once the one before is.
    CHECK(plan_tiles(program, output, values, TileMode::forward).scratch_tiles == 2);
    CHECK(plan_tiles(program, output, gradients, TileMode::backward).scratch_tiles == 2);
    // forward_backward also keeps the output's values to the end.
    const TilePlan both = plan_tiles(program, output, gradients, TileMode::forward_backward);
    CHECK(both.scratch_tiles == 3);
    CHECK(both.calls.size() == 40);
}

TEST_CASE("tile plans: values that the sweep reads stay in their tiles until it has read them") {
    // exp's derivative reads its result: all six values are live when the sweep
    // starts, the output's to the end; the adjoints take two more tiles, as each
    // call reads one and writes the next (a tile is not reused within a call).
    const ElementwiseProgram program = chain(ElementwiseOp::exp, 6);
    const std::uint32_t output = last_slot(program);
    const TilePlan both = plan_tiles(program, output, analyse(program, output, {true}), TileMode::forward_backward);
    CHECK(both.scratch_tiles == 8);
    CHECK(both.calls.size() == 12);
}

TEST_CASE("tile plans: an intermediate's adjoint that a copy passes on is the incoming gradient, without a call") {
    // a = x * 2; out = a + 3: out's gradient reaches a unchanged.
    ElementwiseProgram program;
    program.inputs = 1;
    program.code = {{ElementwiseOp::mul_scalar, 0, 0, {2.0}}, {ElementwiseOp::add_scalar, 1, 0, {3.0}}};
    const TilePlan both = plan_tiles(program, 2, analyse(program, 2, {true}), TileMode::forward_backward);
    REQUIRE(both.calls.size() == 3);  // two values, then x's gradient alone
    const TileCall& gradient = both.calls[2];
    CHECK(gradient.instruction == 0);
    CHECK(gradient.g.kind == TileLocation::Kind::seed);
    CHECK(gradient.target.kind == TileLocation::Kind::grad);
}

TEST_CASE("tile plans: made once per thread for a program, told apart by every instruction's bits") {
    ElementwiseProgram program = chain(ElementwiseOp::mul_scalar, 3);
    const std::uint32_t output = last_slot(program);
    const auto first = tile_plans(program, output, {true});
    CHECK(tile_plans(program, output, {true}) == first);
    CHECK(tile_plans(program, output, {}) != first);
    program.code[1].scalars.first = -2.0;
    CHECK(tile_plans(program, output, {true}) != first);
    program.code[1].scalars.first = 0.0;
    const auto positive_zero = tile_plans(program, output, {true});
    program.code[1].scalars.first = -0.0;
    CHECK(tile_plans(program, output, {true}) != positive_zero);
}

TEST_CASE("shared programs: one per distinct program on a thread, the oldest made again once 16 others came") {
    const ElementwiseProgram program = chain(ElementwiseOp::add_scalar, 2);
    const auto first = shared_program(program);
    CHECK(first.get() != &program);
    CHECK(shared_program(program) == first);
    CHECK(same_program(*first, program));
    for (std::size_t length = 3; length < 3 + 16; ++length) {
        const ElementwiseProgram other = chain(ElementwiseOp::add_scalar, length);
        const auto shared = shared_program(other);
        CHECK(same_program(*shared, other));
        CHECK(shared_program(other) == shared);
    }
    const auto again = shared_program(program);  // pushed out by the sixteen others
    CHECK(again != first);
    CHECK(same_program(*again, program));
    CHECK(same_program(*first, program));  // still held here, and unchanged
}

TEST_CASE("tile prefetcher: a share of the requests per step, all of them by the last step") {
    alignas(64) static char memory[3 * 4096];
    TilePrefetcher prefetcher;
    prefetcher.add(memory, 4096, false);          // 64 requests, one per cache line
    prefetcher.add(memory + 4096, 4096, true);    // 64
    prefetcher.add(memory + 8192, 100, false);    // 2
    prefetcher.add(nullptr, 4096, false);         // skipped
    CHECK(prefetcher.requests_left() == 130);
    prefetcher.spread_over(4);  // 33 per step
    for (std::size_t step = 0; step < 3; ++step) prefetcher.step();
    CHECK(prefetcher.requests_left() == 130 - 3 * 33);
    prefetcher.step();
    CHECK(prefetcher.requests_left() == 0);
    prefetcher.step();  // nothing left: no effect
    CHECK(prefetcher.requests_left() == 0);
    prefetcher.clear();
    CHECK(prefetcher.requests_left() == 0);
}
