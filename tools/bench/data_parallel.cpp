// xtape-bench-data-parallel: the step time of the digits trainer's model, alone
// or on the ranks mpirun started, and the gradient all-reduce's share of it.
//
// A program of its own rather than a mode of xtape-bench: every rank must take
// the same number of steps (the all-reduce is collective), so it runs a fixed
// count rather than xtape-bench's rounds, which stop on time; and it starts
// under mpirun, where xtape-bench's libtorch peer has no place.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xtape/distributed.hpp"
#include "xtape/losses.hpp"
#include "xtape/train.hpp"
#include "xtape/xtape.hpp"

using namespace xtape;

namespace {
using Clock = std::chrono::steady_clock;

double microseconds(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::micro>(to - from).count();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The median time of each part of a step, in microseconds, and the mean step
// (the pass's time over its steps: what a training run takes, stalls included).
struct StepTimes {
    double step = 0;
    double mean_step = 0;
    double forward_backward = 0;
    double wait = 0;  // for the other ranks, before the all-reduce (second pass only)
    double average = 0;
    double optimizer = 0;
    std::size_t elements = 0;  // of the gradients, the all-reduce's message less the sample count
};

// The digits trainer's model and step (examples/digits.cpp: MLP 64-128-10,
// relu, softmax cross-entropy, Adam, global batches of 32 rows) on random
// inputs of the digits' shape, timed part by part. With `synchronised`, every
// step first waits for every rank (a sum of one number), so that the
// average's time is the all-reduce's own rather than time spent waiting for a
// slower rank.
StepTimes time_steps(int steps, int warmup, std::size_t batch, bool synchronised) {
    Rng rng(1);
    xt::xarray<float> images(Shape{1437, 64});
    xt::xarray<float> labels(Shape{1437});
    for (float& v : images) v = static_cast<float>(uniform01(rng));
    for (float& v : labels) v = static_cast<float>(uniform_index(rng, 10));
    const MLP<float> mlp({64, 128, 10}, Activation::Relu, rng);
    Adam<float> adam(mlp.parameters(), {.learning_rate = 1e-3});
    const SoftmaxCrossEntropyLoss<float> loss_fn;
    distributed::broadcast(mlp.parameters());
    distributed::GradientAverager<float> averager(mlp.parameters());

    std::vector<double> step_us, forward_backward_us, wait_us, average_us, optimizer_us;
    Tape<float> tape;
    std::vector<std::vector<std::size_t>> batches;
    Clock::time_point timed_start;
    for (int s = 0; s < warmup + steps; ++s) {
        if (s == warmup) timed_start = Clock::now();
        if (batches.empty()) batches = shuffled_batches(images.shape()[0], batch, rng);
        const std::vector<std::size_t> global = std::move(batches.back());
        batches.pop_back();
        const Clock::time_point start = Clock::now();
        const std::span<const std::size_t> rows = distributed::local_share(global);
        if (!rows.empty()) {
            const Var<float> logits = mlp(tape.constant(take_rows(images, rows)));
            tape.backward(mean(loss_fn(logits, tape.constant(take_rows(labels, rows)))));
        }
        const Clock::time_point computed = Clock::now();
        if (synchronised) distributed::sum(0);
        const Clock::time_point waited = Clock::now();
        const auto gradients = averager.average(tape, rows.size());
        const Clock::time_point averaged = Clock::now();
        adam.step(gradients);
        tape.clear();
        const Clock::time_point stepped = Clock::now();
        if (s < warmup) continue;
        step_us.push_back(microseconds(start, stepped));
        forward_backward_us.push_back(microseconds(start, computed));
        wait_us.push_back(microseconds(computed, waited));
        average_us.push_back(microseconds(waited, averaged));
        optimizer_us.push_back(microseconds(averaged, stepped));
    }
    std::size_t elements = 0;
    for (const Parameter<float>& p : mlp.parameters()) elements += p.value().size();
    const double mean_step_us = microseconds(timed_start, Clock::now()) / steps;
    return {median(step_us), mean_step_us, median(forward_backward_us), median(wait_us),
            median(average_us), median(optimizer_us), elements};
}

int run(int argc, char** argv) {
    CLI::App app{"Times the digits trainer's step (MLP 64-128-10, Adam, global batch 32) alone or on the ranks "
                 "mpirun started, and the gradient all-reduce's share of it"};
    int steps = 2000;
    std::size_t batch = 32;
    bool json = false;
    app.add_option("--steps", steps, "Timed steps per pass (after a tenth as many untimed)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--batch", batch, "Rows per global batch")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_flag("--json", json, "Print JSON instead of a table");
    CLI11_PARSE(app, argc, argv);

    const int warmup = std::max(1, steps / 10);
    const StepTimes plain = time_steps(steps, warmup, batch, false);
    const StepTimes synchronised = time_steps(steps, warmup, batch, true);
    const std::size_t message = plain.elements + 1;
    if (distributed::rank() != 0) return 0;
    const int ranks = distributed::size();
    if (json) {
        nlohmann::json out = {{"ranks", ranks},
                              {"mpi", distributed::built_with_mpi()},
                              {"steps", steps},
                              {"global_batch", batch},
                              {"message_bytes", message * sizeof(float)},
                              {"step_us", plain.step},
                              {"mean_step_us", plain.mean_step},
                              {"forward_backward_us", plain.forward_backward},
                              {"average_us", plain.average},
                              {"optimizer_us", plain.optimizer},
                              {"synchronised_wait_us", synchronised.wait},
                              {"synchronised_average_us", synchronised.average}};
        fmt::print("{}\n", out.dump(2));
        return 0;
    }
    fmt::print("digits model (MLP 64-128-10, Adam, float), global batch {}, {} rank{}, {} timed steps per pass, "
               "medians\n",
               batch, ranks, ranks == 1 ? "" : "s", steps);
    fmt::print("all-reduce message: {} floats ({:.1f} KB) per step\n", message,
               static_cast<double>(message * sizeof(float)) / 1024);
    auto share = [&](double part) { return 100 * part / plain.step; };
    fmt::print("step               {:8.1f} us  (mean {:.1f} us: the pass's time over its steps)\n", plain.step,
               plain.mean_step);
    fmt::print("  forward+backward {:8.1f} us  {:5.1f}%\n", plain.forward_backward, share(plain.forward_backward));
    fmt::print("  average          {:8.1f} us  {:5.1f}%  (the all-reduce, with any wait for the other ranks)\n",
               plain.average, share(plain.average));
    fmt::print("  optimizer        {:8.1f} us  {:5.1f}%\n", plain.optimizer, share(plain.optimizer));
    fmt::print("second pass, every step synchronised first: wait {:.1f} us, then average {:.1f} us\n",
               synchronised.wait, synchronised.average);
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    const distributed::Environment environment;
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        distributed::abort_all(1);
        return 1;
    }
}
