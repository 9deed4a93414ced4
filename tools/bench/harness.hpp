// The timing harness: warm-up, repeated runs, the median.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace xtape::bench {

/// One timed operation. `prepare` runs before every repetition and is not timed
/// (fresh inputs on a cleared tape, a reset gradient); `run` is what is timed.
struct TimedStep {
    std::function<void()> prepare;
    std::function<void()> run;
};

/// What a repetition's time is: elapsed time, or the CPU time of the calling
/// thread (user + system, page faults included), which time-sharing with other
/// processes does not inflate; it is meaningful only when the work runs on the
/// calling thread alone (one thread).
enum class ClockKind { Wall, ThreadCpu };

/// How long to measure. Warm-up stops when both of its limits are reached; the
/// measurement stops when both minimums are reached, or at max_reps.
struct TimingPolicy {
    std::size_t warmup_reps = 3;
    double warmup_seconds = 0.1;
    std::size_t min_reps = 9;
    double min_seconds = 0.5;
    std::size_t max_reps = 5000;
    ClockKind clock = ClockKind::Wall;
};

/// What an empty interval measures on `clock` (the median of 1001 at the first
/// call): the part of the two clock reads that falls inside every timed
/// interval. A read of the thread's CPU time may be a system call as long as a
/// small case's whole step (docs/performance.md, 2026-12-06).
double clock_overhead_seconds(ClockKind clock);

/// The median over the repetitions of the time of each step's `run`, in
/// seconds, each repetition timed on its own with the policy's clock, less the
/// median of an empty step that takes its turn in every round (the clock's
/// own cost, as clock_overhead_seconds, under the same conditions). The
/// steps take turns: a round runs each step once, and the policy counts rounds
/// (repetitions) and their total time. Taking turns makes the steps' times
/// comparable: a busy spell on the machine, a change of clock speed, falls on
/// all of them alike, rather than on whichever step ran at the time. The
/// warm-up fills caches and the allocator's free lists and runs every lazy
/// initialisation first. The median rather than the mean, because other
/// processes on the machine only ever add time, in bursts.
std::vector<double> median_seconds(const std::vector<TimedStep>& steps, const TimingPolicy& policy);

/// The median time of one step alone.
double median_seconds(const TimedStep& step, const TimingPolicy& policy);

/// Keeps the compiler from discarding the computation that produced `p`.
inline void keep(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

}  // namespace xtape::bench
