// Thread counts: the loops that xtape splits between its threads (fused
// programs, row kernels, CTC over its samples, optimizer steps) give the same
// bits on 1, 2 and 3 threads.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include <omp.h>

#include "xtape/losses.hpp"
#include "xtape/optim/adam.hpp"
#include "xtape/optim/sgd.hpp"
#include "xtape/xtape.hpp"

#include "support/random_arrays.hpp"

#include "../src/kernels/parallel.hpp"
#include "../src/kernels/reduction.hpp"

using namespace xtape;

namespace {

constexpr int most_threads = 3;

// xtape's thread count for the scope; the one before it afterwards.
class ThreadCount {
public:
    explicit ThreadCount(int threads) : previous_(num_threads()) { set_num_threads(threads); }
    ~ThreadCount() { set_num_threads(previous_); }
    ThreadCount(const ThreadCount&) = delete;
    ThreadCount& operator=(const ThreadCount&) = delete;

private:
    int previous_;
};

template <class T>
using Arrays = std::vector<xt::xarray<T>>;

// Same shapes and the same bits in every element.
template <class T>
bool same_bits(const Arrays<T>& a, const Arrays<T>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (a[k].shape() != b[k].shape() ||
            std::memcmp(a[k].data(), b[k].data(), a[k].size() * sizeof(T)) != 0) {
            return false;
        }
    }
    return true;
}

// run() on 1 thread, then on 2 and 3: the same bits each time.
template <class T>
void check_every_thread_count(const std::function<Arrays<T>()>& run) {
    Arrays<T> one;
    {
        ThreadCount threads(1);
        one = run();
    }
    for (int count = 2; count <= most_threads; ++count) {
        ThreadCount threads(count);
        CAPTURE(count);
        CHECK(same_bits(run(), one));
    }
}

// A loop of `items` items of `work` units each is split `most_threads` ways:
// the sizes below reach every thread.
bool split_fully(std::size_t items, std::size_t work) {
    ThreadCount threads(most_threads);
    return kernels::threads_for(items, items * work) == most_threads;
}

// The value of `op` on `x` and its gradient for a random seed: one tape each.
template <class T>
Arrays<T> value_and_gradient(const xt::xarray<T>& x, const std::function<Var<T>(const Var<T>&)>& op) {
    Tape<T> tape;
    const Var<T> leaf = tape.leaf(x);
    const Var<T> y = op(leaf);
    tape.backward(y, test::random_normal<T>(y.shape(), 7));
    return {y.value(), leaf.grad()};
}

}  // namespace

TEST_CASE("parallel_for: large work covers every item once on every thread; small work stays on the caller") {
    ThreadCount threads(most_threads);
    const std::size_t items = 1000;
    std::vector<int> visits(items, 0);
    std::vector<int> thread_of(items, -1);
    kernels::parallel_for(items, kernels::parallel_grain, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
            ++visits[i];
            thread_of[i] = omp_get_thread_num();
        }
    });
    CHECK(std::count(visits.begin(), visits.end(), 1) == static_cast<long>(items));
    CHECK(std::set<int>(thread_of.begin(), thread_of.end()).size() == most_threads);

    bool on_calling_thread = false;
    kernels::parallel_for(items, 1, [&](std::size_t begin, std::size_t end, bool calling) {
        CHECK((begin == 0 && end == items));
        on_calling_thread = calling && !omp_in_parallel();
    });
    CHECK(on_calling_thread);
}

TEST_CASE("parallel_for rethrows a body's exception after the loop") {
    ThreadCount threads(most_threads);
    CHECK_THROWS_AS(kernels::parallel_for(30, kernels::parallel_grain,
                                          [](std::size_t begin, std::size_t) {
                                              if (begin > 0) throw ValueError("a range that is not the first");
                                          }),
                    ValueError);
}

TEST_CASE("set_num_threads takes a count of at least 1") {
    ThreadCount threads(2);
    CHECK(num_threads() == 2);
    CHECK_THROWS_AS(set_num_threads(0), ValueError);
    CHECK(num_threads() == 2);
}

TEST_CASE_TEMPLATE("thread count: fused losses give the same bits on 1, 2 and 3 threads", T, float, double) {
    SUBCASE("SigmoidBCE, rows of one tile") {
        const xt::xarray<T> pred = test::random_normal<T>({256, 1024}, 1);
        const xt::xarray<T> label = xt::cast<T>(test::random_normal<T>({256, 1024}, 2) > T(0));
        REQUIRE(split_fully(256, 1024));
        check_every_thread_count<T>([&] {
            return value_and_gradient<T>(pred, [&](const Var<T>& x) {
                return SigmoidBinaryCrossEntropyLoss<T>()(x, x.tape().constant(label));
            });
        });
    }
    SUBCASE("L2, rows of many tiles whose sums are added in order") {
        const xt::xarray<T> pred = test::random_normal<T>({3, 40000}, 3);
        const xt::xarray<T> label = test::random_normal<T>({3, 40000}, 4);
        REQUIRE(split_fully(3 * 40, 1024));  // 40 tiles per row
        check_every_thread_count<T>([&] {
            return value_and_gradient<T>(
                pred, [&](const Var<T>& x) { return L2Loss<T>()(x, x.tape().constant(label)); });
        });
    }
    SUBCASE("a fused expression with one value per row, rows across tiles, and the row sums of its gradient") {
        const xt::xarray<T> a = test::random_normal<T>({3, 40000}, 6);
        const xt::xarray<T> w = test::random_normal<T>({3, 1}, 7);
        REQUIRE(split_fully(3 * 40, 1024));
        check_every_thread_count<T>([&] {
            Tape<T> tape;
            const Var<T> x = tape.leaf(a);
            const Var<T> per_row = tape.leaf(w);
            const Var<T> inputs[] = {x, per_row};
            const Var<T> y =
                fuse<T>(inputs, [](std::span<const ElementwiseExpr> in) { return softplus(mul(in[0], in[1])); });
            tape.backward(y, test::random_normal<T>(y.shape(), 8));
            return Arrays<T>{y.value(), x.grad(), per_row.grad()};
        });
    }
    SUBCASE("an unreduced fused expression") {
        const xt::xarray<T> a = test::random_normal<T>({300, 1000}, 5);
        check_every_thread_count<T>([&] {
            return value_and_gradient<T>(a, [](const Var<T>& x) {
                const Var<T> inputs[] = {x};
                return fuse<T>(inputs, [](std::span<const ElementwiseExpr> in) { return softplus(mul(in[0], 3.0)); });
            });
        });
    }
}

TEST_CASE_TEMPLATE("thread count: row ops give the same bits on 1, 2 and 3 threads", T, float, double) {
    const xt::xarray<T> a = test::random_normal<T>({512, 300}, 11);
    const xt::xarray<T> b = test::random_normal<T>({512, 300}, 12);
    REQUIRE(split_fully(512, 300));
    using Op = std::function<Var<T>(const Var<T>&)>;
    const std::vector<std::pair<const char*, Op>> ops = {
        {"log_softmax", [](const Var<T>& x) { return log_softmax(x); }},
        {"softmax", [](const Var<T>& x) { return softmax(x); }},
        {"logsumexp", [](const Var<T>& x) { return logsumexp(x, {1}); }},
        {"cosine_similarity", [&](const Var<T>& x) { return cosine_similarity(x, x.tape().leaf(b)); }},
        {"dot", [&](const Var<T>& x) { return dot(x, x.tape().leaf(b), {1}); }},
    };
    for (const auto& [name, op] : ops) {
        CAPTURE(name);
        check_every_thread_count<T>([&, op = op] { return value_and_gradient<T>(a, op); });
    }
}

// The gradient of sum(y * y) for y = op(x) with create_graph, and the
// Hessian-vector product for a random v: the create_graph nodes' kernels
// (the gradient depends on x through the seed as well).
template <class T>
Arrays<T> gradient_and_hvp(const xt::xarray<T>& x, const std::function<Var<T>(const Var<T>&)>& op) {
    Tape<T> tape;
    const Var<T> leaf = tape.leaf(x);
    const Var<T> y = op(leaf);
    const Var<T> g = grad(sum(y * y), {leaf}, {.create_graph = true}).front();
    const Var<T> hv = grad(dot(g, tape.constant(test::random_normal<T>(x.shape(), 8))), {leaf}).front();
    return {g.value(), hv.value()};
}

TEST_CASE_TEMPLATE("thread count: Hessian-vector products of the row ops and CTC give the same bits on 1, 2 and "
                   "3 threads", T, float, double) {
    const xt::xarray<T> a = test::random_normal<T>({512, 300}, 11);
    const xt::xarray<T> b = test::random_normal<T>({512, 300}, 12);
    REQUIRE(split_fully(512, 300));
    using Op = std::function<Var<T>(const Var<T>&)>;
    const std::vector<std::pair<const char*, Op>> ops = {
        {"logsumexp", [](const Var<T>& x) { return logsumexp(x, {1}); }},
        {"log_softmax", [](const Var<T>& x) { return log_softmax(x); }},
        {"cosine_similarity", [&](const Var<T>& x) { return cosine_similarity(x, x.tape().leaf(b)); }},
    };
    for (const auto& [name, op] : ops) {
        CAPTURE(name);
        check_every_thread_count<T>([&, op = op] { return gradient_and_hvp<T>(a, op); });
    }
    const std::size_t batch = 32, frames = 100, classes = 20, length = 10;
    const xt::xarray<T> pred = test::random_normal<T>({batch, frames, classes}, 21);
    xt::xarray<T> label = xt::empty<T>(Shape{batch, length});
    std::mt19937_64 rng(22);
    for (auto& v : label) v = static_cast<T>(rng() % (classes - 1));
    REQUIRE(split_fully(batch, 3 * frames * (classes + 2 * length + 1)));
    check_every_thread_count<T>([&] {
        return gradient_and_hvp<T>(pred, [&](const Var<T>& x) { return CTCLoss<T>()(x, x.tape().constant(label)); });
    });
}

TEST_CASE_TEMPLATE("thread count: CTC over its samples gives the same bits on 1, 2 and 3 threads", T, float, double) {
    const std::size_t batch = 32, frames = 100, classes = 20, length = 10;
    const xt::xarray<T> pred = test::random_normal<T>({batch, frames, classes}, 21);
    xt::xarray<T> label = xt::empty<T>(Shape{batch, length});
    std::mt19937_64 rng(22);
    for (auto& v : label) v = static_cast<T>(rng() % (classes - 1));
    REQUIRE(split_fully(batch, frames * (classes + 2 * length + 1)));
    check_every_thread_count<T>([&] {
        return value_and_gradient<T>(pred, [&](const Var<T>& x) { return CTCLoss<T>()(x, x.tape().constant(label)); });
    });
}

TEST_CASE_TEMPLATE("thread count: optimizer steps give the same bits on 1, 2 and 3 threads", T, float, double) {
    const Shape shape{300, 1001};  // not a multiple of the pieces the threads share out
    REQUIRE(split_fully(300 * 1001 / 64, 64));
    const auto steps = [&](auto make_optimizer) {
        return [&, make_optimizer] {
            Parameter<T> w("w", test::random_normal<T>(shape, 31));
            auto optimizer = make_optimizer(std::vector<Parameter<T>>{w});
            const xt::xarray<T> gradients[] = {test::random_normal<T>(shape, 32)};
            for (int step = 0; step < 3; ++step) optimizer.step(gradients);
            Arrays<T> result{w.value()};
            for (std::size_t slot = 0; slot < optimizer.state_names().size(); ++slot) {
                result.push_back(optimizer.state(slot, 0));
            }
            return result;
        };
    };
    check_every_thread_count<T>(steps([](std::vector<Parameter<T>> p) {
        return Adam<T>(std::move(p), {.learning_rate = 0.01, .weight_decay = 0.1});
    }));
    check_every_thread_count<T>(steps([](std::vector<Parameter<T>> p) {
        return AdamW<T>(std::move(p), {.learning_rate = 0.01, .weight_decay = 0.1});
    }));
    check_every_thread_count<T>(steps([](std::vector<Parameter<T>> p) {
        return SGD<T>(std::move(p), {.learning_rate = 0.01, .momentum = 0.9, .weight_decay = 0.1});
    }));
}

TEST_CASE_TEMPLATE("any_negative finds a negative element at either end or in the middle, on 1, 2 and 3 threads; "
                   "-0 and NaN are not negative", T, float, double) {
    for (const std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(64), std::size_t(100003)}) {
        std::vector<T> x(n, T(0.5));
        // Signed zeros and NaN among the values (x < 0 is false for both).
        for (std::size_t i = 1; i < n; i += 3) x[i] = i % 2 == 0 ? T(-0.0) : std::numeric_limits<T>::quiet_NaN();
        for (const int threads : {1, 2, 3}) {
            ThreadCount count(threads);
            CHECK_FALSE(kernels::any_negative(x.data(), n));
            for (const std::size_t at : {std::size_t(0), n / 2, n - 1}) {
                if (at >= n) continue;
                const T kept = x[at];
                x[at] = -std::numeric_limits<T>::denorm_min();
                INFO("n ", n, ", negative at ", at, ", threads ", threads);
                CHECK(kernels::any_negative(x.data(), n));
                x[at] = kept;
            }
        }
    }
}
