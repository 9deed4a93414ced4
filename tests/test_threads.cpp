// Threads: every loss, forward and backward, on 8 threads at once, each with its
// own tape, gives bit for bit the results of a single thread.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "xtape/xtape.hpp"

using namespace xtape;

namespace {

constexpr int thread_count = 8;
constexpr int rounds = 16;

// One loss evaluation: the loss's output, then the gradient of every differentiable input.
template <class T>
using Result = std::vector<xt::xarray<T>>;

// Every loss of the registry with its default options on its sampled inputs,
// forward and backward on `tape` (cleared first).
template <class T>
std::vector<Result<T>> evaluate_every_loss(Tape<T>& tape, const std::vector<ArrayMap<double>>& samples) {
    std::vector<Result<T>> results;
    const auto& registry = loss_registry();
    for (std::size_t k = 0; k < registry.size(); ++k) {
        const LossInfo& info = registry[k];
        tape.clear();
        InputMap<T> inputs;
        for (const auto& [name, value] : samples[k]) {
            xt::xarray<T> array = xt::cast<T>(value);
            inputs.emplace(name, info.is_differentiable({}, name) ? tape.leaf(std::move(array))
                                                                  : tape.constant(std::move(array)));
        }
        const Var<T> out = info.apply<T>({}, inputs);
        tape.backward(sum(out));
        Result<T> result{out.value()};
        for (const auto& [name, var] : inputs) {
            if (var.requires_grad()) result.push_back(var.grad());
        }
        results.push_back(std::move(result));
    }
    return results;
}

// Same shapes and the same bits in every element.
template <class T>
bool bitwise_equal(const std::vector<Result<T>>& a, const std::vector<Result<T>>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (a[k].size() != b[k].size()) return false;
        for (std::size_t i = 0; i < a[k].size(); ++i) {
            const auto& x = a[k][i];
            const auto& y = b[k][i];
            if (x.shape() != y.shape() || std::memcmp(x.data(), y.data(), x.size() * sizeof(T)) != 0) return false;
        }
    }
    return true;
}

}  // namespace

TEST_CASE_TEMPLATE("threads: every loss forward and backward on 8 threads matches one thread bit for bit", T, float,
                   double) {
    std::vector<ArrayMap<double>> samples;
    for (const LossInfo& info : loss_registry()) samples.push_back(info.sample({}, info.check_shapes.at(0), 3));

    Tape<T> reference_tape;
    const std::vector<Result<T>> reference = evaluate_every_loss(reference_tape, samples);

    std::atomic<int> mismatches{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&] {
            try {
                Tape<T> tape;  // one tape per thread, reused (cleared) across rounds
                for (int round = 0; round < rounds; ++round) {
                    if (!bitwise_equal(evaluate_every_loss(tape, samples), reference)) ++mismatches;
                }
            } catch (...) {
                ++failures;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(failures.load() == 0);
    CHECK(mismatches.load() == 0);
}

TEST_CASE_TEMPLATE("threads: the current tape of each thread is its own", T, float, double) {
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, t] {
            Tape<T> tape;
            TapeScope<T> scope(tape);
            for (int i = 0; i < 100; ++i) {
                const Var<T> x = leaf<T>(xt::xarray<T>{T(t), T(i)});
                tape.backward(sum(mul(x, x)));
                if (&current_tape<T>() != &tape || x.grad()(0) != T(2 * t) || x.grad()(1) != T(2 * i)) ++wrong;
                tape.clear();
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(wrong.load() == 0);
}
