// Allocations of a training step after warm-up, counted by replacing malloc and
// its kin in this executable (a program of its own: the count must see every
// allocation of the step and nothing of the test framework's).
//
// A training loop of Dense layers, a loss and an optimizer records the same
// shapes every step. After the first steps no phase of a step allocates:
// entering the parameters, forward and loss, backward, reading and clipping
// the gradients, the optimizer's step and clear(). Every registered loss is
// checked the same way on its own.
//
// BLAS runs on one thread here: OpenBLAS's threaded gemm (Debian's build)
// allocates its table of jobs on every call, inside OpenBLAS, which a count of
// xtape's allocations must leave out.
#include <doctest/doctest.h>

#include <cstddef>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <malloc.h>

#include <cblas.h>

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

// One training step in its phases, each counted: two Dense layers, a loss of
// their output (which enters its own labels), clipping, an optimizer.
struct Phases {
    Allocations enter, forward, backward, gradients, step, clear;
};

using LossOf = std::function<Var<float>(Tape<float>&, const Var<float>& out)>;

Phases training_step(Tape<float>& tape, const std::vector<Dense<float>>& layers, Optimizer<float>& optimizer,
                     const xt::xarray<float>& x, const LossOf& loss) {
    const std::vector<Parameter<float>>& parameters = optimizer.parameters();
    Var<float> total;
    Phases phases;
    phases.enter = allocations_of([&] {
        for (const Parameter<float>& p : parameters) p.var(tape);
    });
    phases.forward = allocations_of([&] {
        Var<float> h = tape.constant(x);
        for (const Dense<float>& layer : layers) h = layer(h);
        total = mean(loss(tape, h));
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

// Sets the number of OpenBLAS's threads until the scope ends.
class BlasThreads {
public:
    explicit BlasThreads(int threads) : previous_(openblas_get_num_threads()) { openblas_set_num_threads(threads); }
    ~BlasThreads() { openblas_set_num_threads(previous_); }
    BlasThreads(const BlasThreads&) = delete;
    BlasThreads& operator=(const BlasThreads&) = delete;

private:
    int previous_;
};

TEST_CASE("a training step allocates nothing after warm-up") {
    REQUIRE(allocations_of([] { std::free(std::malloc(16)); }).calls == 1);  // the counter counts
    const BlasThreads one_blas_thread(1);
    Rng rng(1);
    // Digits-like (64 -> 128 -> 10, batch 32), a wider one (784 -> 512 -> 10,
    // batch 128) and a narrow one (30 -> 4 -> 1, batch 32), whose biases are
    // too short to add row by row and are broadcast into scratch arrays.
    struct Model {
        std::size_t in, hidden, out, batch;
    };
    for (const Model m : {Model{64, 128, 10, 32}, Model{784, 512, 10, 128}, Model{30, 4, 1, 32}}) {
        const std::vector<Dense<float>> layers = {Dense<float>(m.in, m.hidden, Activation::Relu, rng, "hidden"),
                                                  Dense<float>(m.hidden, m.out, Activation::Identity, rng, "out")};
        std::vector<Parameter<float>> parameters;
        for (const Dense<float>& layer : layers) {
            for (const Parameter<float>& p : layer.parameters()) parameters.push_back(p);
        }
        xt::xarray<float> x = xt::empty<float>(Shape{m.batch, m.in});
        xt::xarray<float> labels = xt::empty<float>(Shape{m.batch});
        xt::xarray<float> sample_weight = xt::empty<float>(Shape{m.batch, 1});
        xt::xarray<float> targets = xt::empty<float>(Shape{m.batch, m.out});  // in [0, 1): L2 and BCE targets
        for (std::size_t i = 0; i < x.size(); ++i) x.flat(i) = static_cast<float>(standard_normal(rng));
        for (std::size_t i = 0; i < m.batch; ++i) labels(i) = static_cast<float>(i % m.out);
        for (std::size_t i = 0; i < m.batch; ++i) sample_weight(i, 0) = 0.5f + static_cast<float>(i % 3) / 2;
        for (std::size_t i = 0; i < targets.size(); ++i) targets.flat(i) = static_cast<float>(i % 7) / 7;

        const SoftmaxCrossEntropyLoss<float> softmax_ce;
        const L2Loss<float> l2;
        const SigmoidBinaryCrossEntropyLoss<float> sigmoid_bce;
        struct LossCase {
            std::string name;
            LossOf loss;
        };
        const std::vector<LossCase> losses = {
            {"SoftmaxCrossEntropyLoss",
             [&](Tape<float>& tape, const Var<float>& out) { return softmax_ce(out, tape.constant(labels)); }},
            {"SoftmaxCrossEntropyLoss with sample_weight",
             [&](Tape<float>& tape, const Var<float>& out) {
                 return softmax_ce(out, tape.constant(labels), tape.constant(sample_weight));
             }},
            {"L2Loss", [&](Tape<float>& tape, const Var<float>& out) { return l2(out, tape.constant(targets)); }},
            {"SigmoidBinaryCrossEntropyLoss",
             [&](Tape<float>& tape, const Var<float>& out) { return sigmoid_bce(out, tape.constant(targets)); }},
        };
        for (const auto& [loss_name, loss] : losses) {
            std::vector<std::unique_ptr<Optimizer<float>>> optimizers;
            optimizers.push_back(std::make_unique<SGD<float>>(parameters, SGDOptions{.momentum = 0.9}));
            optimizers.push_back(std::make_unique<Adam<float>>(parameters));
            optimizers.push_back(std::make_unique<AdamW<float>>(parameters));
            for (const auto& optimizer : optimizers) {
                const std::string name = optimizer->name();
                CAPTURE(m.in);
                CAPTURE(loss_name);
                CAPTURE(name);
                Tape<float> tape;
                for (int warm_up = 0; warm_up < 3; ++warm_up) training_step(tape, layers, *optimizer, x, loss);
                const Phases phases = training_step(tape, layers, *optimizer, x, loss);
                CHECK(phases.enter.calls == 0);
                CHECK(phases.forward.calls == 0);
                CHECK(phases.backward.calls == 0);
                CHECK(phases.gradients.calls == 0);
                CHECK(phases.step.calls == 0);
                CHECK(phases.clear.calls == 0);
            }
        }
    }
}

// Every registered loss, at its first check shape with every input (optional
// ones included) and default options: recording it and its backward allocate
// nothing once the same shapes have been recorded before. The losses that
// still allocate are listed, and the list must stay true: a loss on it that
// stops allocating fails the test until it is taken off.
TEST_CASE("every registered loss records and differentiates without allocating after warm-up") {
    const std::set<std::string> still_allocating = {"CTCLoss", "CosineEmbeddingLoss", "SDMLLoss"};
    const BlasThreads one_blas_thread(1);
    for (const LossInfo& info : loss_registry()) {
        CAPTURE(info.name);
        const OptionMap defaults;
        const Shape shape = info.check_shapes.at(0);
        const ArrayMap<double> arrays = info.sample(defaults, shape, 7);
        const BoundLoss<float> loss = info.bind_float(defaults);
        Tape<float> tape;
        Allocations forward, backward;
        for (int step = 0; step < 4; ++step) {
            InputMap<float> in;  // built outside the count: a std::map allocates its nodes
            for (const auto& [name, array] : arrays) {
                const xt::xarray<float> value = xt::cast<float>(array);
                in.emplace(name, info.is_differentiable(defaults, name) ? tape.leaf(value) : tape.constant(value));
            }
            Var<float> total;
            forward = allocations_of([&] { total = sum(loss(in)); });
            backward = allocations_of([&] { tape.backward(total); });
            tape.clear();
        }
        if (still_allocating.contains(info.name)) {
            MESSAGE(info.name, " ", to_string(shape), ": forward ", describe(forward), ", backward ",
                    describe(backward));
            CHECK(forward.calls + backward.calls > 0);
        } else {
            CHECK(forward.calls == 0);
            CHECK(backward.calls == 0);
        }
    }
}
