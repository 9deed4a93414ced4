// Memory: a training loop that clears its tape every step keeps its resident memory flat.
#include <doctest/doctest.h>

#include <cstddef>
#include <fstream>

#include <xtensor/xrandom.hpp>

#include "xtape/xtape.hpp"
#include "xtape/nn/dense.hpp"
#include "xtape/optim/sgd.hpp"

#include "support/sanitizer.hpp"

using namespace xtape;

namespace {

using test::under_sanitizer;

// ASan keeps freed memory in quarantine (the resident memory grows by design)
// and slows every step: under a sanitizer the loop is short and the leak check
// is LeakSanitizer's at exit, not the resident memory.
constexpr int steps = under_sanitizer ? 2'000 : 100'000;

// The resident set size in bytes, from /proc/self/statm (second field, in pages).
std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t total_pages = 0, resident_pages = 0;
    statm >> total_pages >> resident_pages;
    return resident_pages * 4096;
}

}  // namespace

TEST_CASE("memory: 100 000 training steps with clear() between them keep the resident memory flat") {
    Rng rng(42);
    Tape<float> tape;
    const Dense<float> dense(4, 3, Activation::Tanh, rng);
    SGD<float> sgd(dense.parameters(), {.learning_rate = 0.01});
    const L2Loss<float> loss;
    const xt::xarray<float> x = xt::random::randn<float>({8, 4}, 0.f, 1.f, rng);
    const xt::xarray<float> y = xt::random::randn<float>({8, 3}, 0.f, 1.f, rng);

    const auto train_step = [&] {
        tape.clear();
        const Var<float> out = loss(dense(tape.constant(x)), tape.constant(y));
        tape.backward(sum(out));
        sgd.step();
    };
    // Warm up: the tape's node storage, the allocator's pools, the page cache of the code.
    for (int i = 0; i < 1000; ++i) train_step();
    const std::size_t after_warm_up = resident_bytes();
    REQUIRE(after_warm_up > 0);
    for (int i = 0; i < steps; ++i) train_step();
    const std::size_t after_steps = resident_bytes();
    // A leak of 64 bytes a step adds 6.4 MB over 100 000 steps; 4 MiB is above
    // the allocator's noise and below that.
    if (under_sanitizer) {
        MESSAGE("resident memory not compared under a sanitizer (LeakSanitizer checks leaks at exit)");
    } else {
        CHECK(after_steps < after_warm_up + 4 * 1024 * 1024);
    }
    CHECK(tape.size() > 0);
}
