// The timing harness: warm-up, repeated runs, the median.
#include "harness.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

namespace xtape::bench {

namespace {

double now_seconds(ClockKind clock) {
    if (clock == ClockKind::Wall) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double median(std::vector<double> times) {
    const auto middle = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
    std::nth_element(times.begin(), middle, times.end());
    return *middle;
}

double measure_clock_overhead(ClockKind clock) {
    std::vector<double> empty(1001);
    for (double& t : empty) {
        const double start = now_seconds(clock);
        t = now_seconds(clock) - start;
    }
    return median(std::move(empty));
}

double timed_run(const TimedStep& step, ClockKind clock) {
    if (step.prepare) step.prepare();
    const double start = now_seconds(clock);
    step.run();
    return now_seconds(clock) - start;
}

}  // namespace

double clock_overhead_seconds(ClockKind clock) {
    static const double wall = measure_clock_overhead(ClockKind::Wall);
    static const double thread_cpu = measure_clock_overhead(ClockKind::ThreadCpu);
    return clock == ClockKind::Wall ? wall : thread_cpu;
}

std::vector<double> median_seconds(const std::vector<TimedStep>& measured, const TimingPolicy& policy) {
    // An empty step takes its turn with the others: its fastest run is what the
    // clock's reads add to every interval, under the same conditions. Not its
    // median: with few repetitions (--quick) on a loaded machine one slow empty
    // run can exceed a short step's median and make its time negative.
    std::vector<TimedStep> steps = measured;
    steps.push_back({nullptr, [] {}});
    const auto round = [&](std::vector<std::vector<double>>* times) {
        double seconds = 0;
        for (std::size_t i = 0; i < steps.size(); ++i) {
            const double t = timed_run(steps[i], policy.clock);
            if (times) (*times)[i].push_back(t);
            seconds += t;
        }
        return seconds;
    };
    double warmup = 0;
    for (std::size_t rep = 0; rep < policy.warmup_reps || warmup < policy.warmup_seconds; ++rep) {
        warmup += round(nullptr);
    }
    std::vector<std::vector<double>> times(steps.size());
    double total = 0;
    for (std::size_t rep = 0;
         rep == 0 || (rep < policy.max_reps && (rep < policy.min_reps || total < policy.min_seconds)); ++rep) {
        total += round(&times);
    }
    const double clock_reads = *std::min_element(times.back().begin(), times.back().end());
    times.pop_back();
    std::vector<double> medians;
    for (auto& step_times : times) medians.push_back(median(std::move(step_times)) - clock_reads);
    return medians;
}

double median_seconds(const TimedStep& step, const TimingPolicy& policy) {
    return median_seconds(std::vector<TimedStep>{step}, policy).front();
}

}  // namespace xtape::bench
