// Allocations of a training step after warm-up, counted by replacing malloc and
// its kin in this executable (a program of its own: the count must see every
// allocation of the step and nothing of the test framework's).
//
// A training loop of Dense layers, a loss and an optimizer records the same
// shapes every step. Entering the parameters, reading and clipping their
// gradients, the optimizer's step and clear() must allocate nothing after the
// first steps; forward, loss and backward are counted and reported.
#include <doctest/doctest.h>

#include <cstddef>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include <malloc.h>

#include "xtape/losses.hpp"
#include "xtape/train.hpp"
#include "xtape/xtape.hpp"

// ---- the counting allocator ------------------------------------------------

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* pointer);
}

namespace {
// Only allocations of the thread that counts, while it counts: OpenBLAS's
// threads and the test framework stay out.
thread_local bool counting = false;
thread_local std::size_t calls = 0;
thread_local std::size_t bytes = 0;

void count(std::size_t size) {
    if (counting) {
        ++calls;
        bytes += size;
    }
}
}  // namespace

// glibc lets a program replace malloc, free, calloc, realloc and the aligned
// allocators (xsimd's aligned_allocator calls posix_memalign); each one here
// counts and hands the work to glibc's own.
extern "C" {
void* malloc(std::size_t size) {
    count(size);
    return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
    count(n * size);
    return __libc_calloc(n, size);
}
void* realloc(void* pointer, std::size_t size) {
    count(size);
    return __libc_realloc(pointer, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
    count(size);
    return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
    count(size);
    return __libc_memalign(alignment, size);
}
int posix_memalign(void** result, std::size_t alignment, std::size_t size) {
    if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return 22;  // EINVAL
    count(size);
    void* pointer = __libc_memalign(alignment, size);
    if (pointer == nullptr) return 12;  // ENOMEM
    *result = pointer;
    return 0;
}
void free(void* pointer) { __libc_free(pointer); }
}

namespace {

struct Allocations {
    std::size_t calls = 0;
    std::size_t bytes = 0;
};

Allocations allocations_of(const std::function<void()>& work) {
    calls = 0;
    bytes = 0;
    counting = true;
    work();
    counting = false;
    return {calls, bytes};
}

using namespace xtape;

// One training step in its phases, each counted: two Dense layers, sparse
// SoftmaxCE, clipping, an optimizer.
struct Phases {
    Allocations enter, forward, backward, gradients, step, clear;
};

Phases training_step(Tape<float>& tape, const std::vector<Dense<float>>& layers, Optimizer<float>& optimizer,
                     const xt::xarray<float>& x, const xt::xarray<float>& labels) {
    const SoftmaxCrossEntropyLoss<float> loss;
    const std::vector<Parameter<float>>& parameters = optimizer.parameters();
    Var<float> total;
    Phases phases;
    phases.enter = allocations_of([&] {
        for (const Parameter<float>& p : parameters) p.var(tape);
    });
    phases.forward = allocations_of([&] {
        Var<float> h = tape.constant(x);
        for (const Dense<float>& layer : layers) h = layer(h);
        total = mean(loss(h, tape.constant(labels)));
    });
    phases.backward = allocations_of([&] { tape.backward(total); });
    double norm = 0;
    phases.gradients = allocations_of([&] {
        for (const Parameter<float>& p : parameters) norm += p.has_grad() ? static_cast<double>(p.grad()(0)) : 0.0;
        norm += clip_grad_norm(parameters, 10.0);
    });
    phases.step = allocations_of([&] { optimizer.step(); });
    phases.clear = allocations_of([&] { tape.clear(); });
    REQUIRE(std::isfinite(norm));
    return phases;
}

std::string describe(const Allocations& a) { return std::to_string(a.calls) + " (" + std::to_string(a.bytes) + " B)"; }

}  // namespace

TEST_CASE("a training step allocates nothing after warm-up for its parameters, gradients and optimizer") {
    REQUIRE(allocations_of([] { std::free(std::malloc(16)); }).calls == 1);  // the counter counts
    Rng rng(1);
    // Digits-like (64 -> 128 -> 10, batch 32) and a wider one (784 -> 512 -> 10, batch 128).
    struct Model {
        std::size_t in, hidden, out, batch;
    };
    for (const Model m : {Model{64, 128, 10, 32}, Model{784, 512, 10, 128}}) {
        const std::vector<Dense<float>> layers = {Dense<float>(m.in, m.hidden, Activation::Relu, rng, "hidden"),
                                                  Dense<float>(m.hidden, m.out, Activation::Identity, rng, "out")};
        std::vector<Parameter<float>> parameters;
        for (const Dense<float>& layer : layers) {
            for (const Parameter<float>& p : layer.parameters()) parameters.push_back(p);
        }
        xt::xarray<float> x = xt::empty<float>(Shape{m.batch, m.in});
        xt::xarray<float> labels = xt::empty<float>(Shape{m.batch});
        for (std::size_t i = 0; i < x.size(); ++i) x.flat(i) = static_cast<float>(standard_normal(rng));
        for (std::size_t i = 0; i < m.batch; ++i) labels(i) = static_cast<float>(i % m.out);

        std::vector<std::unique_ptr<Optimizer<float>>> optimizers;
        optimizers.push_back(std::make_unique<SGD<float>>(parameters, SGDOptions{.momentum = 0.9}));
        optimizers.push_back(std::make_unique<Adam<float>>(parameters));
        optimizers.push_back(std::make_unique<AdamW<float>>(parameters));
        for (const auto& optimizer : optimizers) {
            const std::string name = optimizer->name();
            CAPTURE(m.in);
            CAPTURE(name);
            Tape<float> tape;
            for (int warm_up = 0; warm_up < 3; ++warm_up) training_step(tape, layers, *optimizer, x, labels);
            const Phases phases = training_step(tape, layers, *optimizer, x, labels);
            CHECK(phases.enter.calls == 0);
            CHECK(phases.gradients.calls == 0);
            CHECK(phases.step.calls == 0);
            MESSAGE(m.in, "-", m.hidden, "-", m.out, " batch ", m.batch, ", ", name,
                    ": forward + loss ", describe(phases.forward), ", backward ", describe(phases.backward),
                    ", clear ", describe(phases.clear));
        }
    }
}
