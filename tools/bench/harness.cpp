// The timing harness: warm-up, repeated runs, the median.
#include "harness.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <vector>

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

double timed_run(const TimedStep& step, ClockKind clock) {
    if (step.prepare) step.prepare();
    const double start = now_seconds(clock);
    step.run();
    return now_seconds(clock) - start;
}

}  // namespace

double median_seconds(const TimedStep& step, const TimingPolicy& policy) {
    double warmup = 0;
    for (std::size_t rep = 0; rep < policy.warmup_reps || warmup < policy.warmup_seconds; ++rep) {
        warmup += timed_run(step, policy.clock);
    }
    std::vector<double> times;
    double total = 0;
    while (times.empty() ||
           (times.size() < policy.max_reps && (times.size() < policy.min_reps || total < policy.min_seconds))) {
        times.push_back(timed_run(step, policy.clock));
        total += times.back();
    }
    const auto middle = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
    std::nth_element(times.begin(), middle, times.end());
    return *middle;
}

}  // namespace xtape::bench
