// The timing harness: warm-up, repeated runs, the median.
#include "harness.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

namespace xtape::bench {

namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double timed_run(const TimedStep& step) {
    if (step.prepare) step.prepare();
    const auto start = Clock::now();
    step.run();
    return seconds_since(start);
}
}  // namespace

double median_seconds(const TimedStep& step, const TimingPolicy& policy) {
    double warmup = 0;
    for (std::size_t rep = 0; rep < policy.warmup_reps || warmup < policy.warmup_seconds; ++rep) {
        warmup += timed_run(step);
    }
    std::vector<double> times;
    double total = 0;
    while (times.empty() ||
           (times.size() < policy.max_reps && (times.size() < policy.min_reps || total < policy.min_seconds))) {
        times.push_back(timed_run(step));
        total += times.back();
    }
    const auto middle = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
    std::nth_element(times.begin(), middle, times.end());
    return *middle;
}

}  // namespace xtape::bench
