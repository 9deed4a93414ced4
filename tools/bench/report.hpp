// The benchmark's results, printed as a table or as JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace xtape::bench {

/// A training step's parts, medians in microseconds (see TrainingPeer).
struct Phases {
    double forward_us = 0;  // forward + loss
    double backward_us = 0;
    double optimizer_us = 0;
};

/// What a Hessian-vector product's row adds (its xtape_us and torch_us are H v's times).
struct HvpTimes {
    double xtape_gradient_us = 0;            // xtape's gradient step of the same case, timed alongside
    std::optional<std::string> torch_method;  // "double backward" or "central difference"; none without the peer
};

/// One case's medians, in microseconds.
struct Row {
    std::string name;   // "L2Loss/large"
    std::string shape;  // "4096x1024"
    std::string dtype = "float32";
    double xtape_us = 0;
    std::optional<double> torch_us;  // without the peer: none
    std::optional<double> bound_us;  // minimum traffic / copy bandwidth, large cases only
    std::optional<double> bandwidth_gb_s;  // the copy bandwidth measured alongside the case, for the bound
    /// The larger relative difference between xtape's and torch's output sum
    /// and sum of |gradient| (float32 rounding: ~1e-6..1e-4), for a training
    /// step between their first two steps' losses; none without the peer.
    std::optional<double> disagreement;
    /// A training step's parts, each timed on its own (xtape_us and torch_us are
    /// the whole step, from runs of steps back to back).
    std::optional<Phases> xtape_phases;
    std::optional<Phases> torch_phases;  // none without the peer
    /// A Hessian-vector product's row ("L2Loss/large/hvp").
    std::optional<HvpTimes> hvp;

    /// xtape / torch: below 1, xtape is faster.
    std::optional<double> ratio() const;
};

struct Report {
    int threads = 1;
    bool quick = false;
    std::string clock = "wall";                // "wall" or "cpu" (the thread's CPU time)
    double clock_overhead_ns = 0;              // subtracted from every timed repetition
    std::string malloc;                        // "tuned" or "default" (glibc's settings, see main.cpp)
    std::optional<std::string> torch_version;  // none without the peer
    std::string kernels;                       // xtape::kernel_instruction_set()
    double bandwidth_gb_s = 0;                 // 1e9 bytes per second, measured at the start
    double tape_overhead_ns = 0;
    std::vector<Row> rows;
};

/// Aligned text tables, the losses', the Hessian-vector products' and the
/// training steps', with the machine's numbers above them.
std::string to_table(const Report& report);

/// {"threads", "quick", "clock", "clock_overhead_ns", "malloc", "torch", "kernels", "bandwidth_gb_s", "rows": [{"case",
/// "shape", "dtype", "xtape_us", "torch_us", "ratio", "bound_us", "bandwidth_gb_s", "disagreement",
/// "phases", "hvp"}], "tape_overhead_ns"}, a missing number as null. "phases" is null but for a
/// training step: {"forward", "backward", "optimizer"}, each {"xtape_us", "torch_us", "ratio"}.
/// "hvp" is null but for a Hessian-vector product: {"xtape_gradient_us", "over_gradient" (xtape's
/// H v over its gradient), "torch_method"}.
std::string to_json(const Report& report);

}  // namespace xtape::bench
