// xtape-bench: times every loss's forward + backward in xtape, and in libtorch when built with the peer.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "xtape/execution.hpp"
#include "xtape/instruction_set.hpp"

#include "bandwidth.hpp"
#include "cases.hpp"
#include "report.hpp"
#include "tape_overhead.hpp"
#include "threads.hpp"
#include "torch_peer.hpp"
#include "traffic.hpp"
#include "xtape_cases.hpp"

namespace {

using namespace xtape::bench;

struct Arguments {
    int threads = 1;
    bool json = false;
    bool quick = false;
    bool no_torch = false;
    std::size_t reps = 0;
    std::string filter;
    std::optional<std::size_t> chunk_elements;
    ClockKind clock = ClockKind::Wall;
};

/// The policy of the probes (bandwidth, tape overhead), and with `for_cases`
/// of the cases, which --reps fixes.
TimingPolicy timing_policy(const Arguments& args, bool for_cases) {
    TimingPolicy policy;
    if (args.quick) policy = {1, 0.0, 2, 0.0, 2};
    if (for_cases && args.reps > 0) policy = {1, 0.0, args.reps, 0.0, args.reps};
    policy.clock = args.clock;
    return policy;
}

double relative_difference(double a, double b) {
    const double scale = std::max(std::abs(a), std::abs(b));
    return scale == 0 ? 0 : std::abs(a - b) / scale;
}

double disagreement(const Checksums& a, const Checksums& b) {
    return std::max(relative_difference(a.output_sum, b.output_sum),
                    relative_difference(a.gradient_abs_sum, b.gradient_abs_sum));
}

/// xtape's step, torch's and, for a case with a bandwidth bound, a copy of
/// `probe` take turns, so that the ratio and the bound are measured under the
/// same conditions. The probe's copy leaves the caches cold: a large case's
/// steps read their inputs from memory, as the bound assumes.
Row measure(const CaseSpec& spec, const TimingPolicy& policy, CopyProbe& probe, bool with_torch) {
    const InputArrays inputs = spec.draw();
    const PeerStep xtape = xtape_step(spec, inputs);
    const std::optional<PeerStep> torch = with_torch ? torch_step(spec, inputs) : std::nullopt;
    std::vector<TimedStep> steps{xtape.step};
    if (torch) steps.push_back(torch->step);
    if (spec.has_bound) steps.push_back(probe.step());
    const std::vector<double> seconds = median_seconds(steps, policy);

    Row row;
    row.name = spec.name;
    row.shape = spec.shape;
    row.xtape_us = seconds[0] * 1e6;
    if (torch) {
        row.torch_us = seconds[1] * 1e6;
        row.disagreement = disagreement(xtape.checksums(), torch->checksums());
    }
    if (spec.has_bound) {
        const double bandwidth = probe.bandwidth(seconds.back());
        row.bandwidth_gb_s = bandwidth / 1e9;
        row.bound_us = static_cast<double>(minimum_traffic_bytes(spec, inputs)) / bandwidth * 1e6;
    }
    return row;
}

int run(const Arguments& args) {
    set_threads(args.threads);
    const xtape::LossChunkingScope chunking(args.chunk_elements.value_or(xtape::loss_chunk_elements()));
    const TimingPolicy probe_policy = timing_policy(args, false);
    const TimingPolicy case_policy = timing_policy(args, true);
    Report report;
    report.threads = args.threads;
    report.quick = args.quick;
    report.clock = args.clock == ClockKind::Wall ? "wall" : "cpu";
    report.torch_version = args.no_torch ? std::nullopt : torch_peer_version();
    report.kernels = xtape::kernel_instruction_set();

    const std::size_t mib = 1 << 20;
    CopyProbe probe((args.quick ? 32 : 256) * mib);
    report.bandwidth_gb_s = probe.bandwidth(median_seconds(probe.step(), probe_policy)) / 1e9;

    std::vector<std::string> unsupported;
    const auto cases = make_cases(args.quick ? Sizes::quick() : Sizes::full(), unsupported);
    for (const auto& name : unsupported) fmt::print(stderr, "xtape-bench: no inputs known for {}; skipped\n", name);
    for (const CaseSpec& spec : cases) {
        if (spec.name.find(args.filter) == std::string::npos) continue;
        fmt::print(stderr, "{}\n", spec.name);
        report.rows.push_back(measure(spec, case_policy, probe, report.torch_version.has_value()));
    }
    report.tape_overhead_ns = tape_overhead_ns(probe_policy);

    std::cout << (args.json ? to_json(report) : to_table(report)) << std::flush;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Times forward + backward of every xtape loss (float32), against libtorch when built with it."};
    Arguments args;
    app.add_option("--threads", args.threads, "threads of xtape's BLAS/OpenMP and of torch")
        ->check(CLI::PositiveNumber);
    app.add_flag("--json", args.json, "print JSON instead of the table");
    app.add_flag("--quick", args.quick, "reduced sizes and two repetitions: a smoke test, not a measurement");
    app.add_flag("--no-torch", args.no_torch, "time xtape alone");
    app.add_option("--reps", args.reps, "exactly this many timed repetitions of each case after one warm-up (for profiling)");
    app.add_option("--filter", args.filter, "only the cases whose name contains this text");
    app.add_option("--chunk-elements", args.chunk_elements,
                   "elements per chunk of a large loss (xtape::LossChunkingScope; 0: no chunking)");
    app.add_option("--clock", args.clock,
                   "wall: elapsed time; cpu: the thread's CPU time, unaffected by other processes "
                   "(one thread only)")
        ->transform(CLI::CheckedTransformer(std::map<std::string, ClockKind>{{"wall", ClockKind::Wall},
                                                                            {"cpu", ClockKind::ThreadCpu}}));
    CLI11_PARSE(app, argc, argv);
    if (args.clock == ClockKind::ThreadCpu && args.threads != 1) {
        fmt::print(stderr, "xtape-bench: --clock cpu measures one thread; it needs --threads 1\n");
        return 2;
    }
    try {
        return run(args);
    } catch (const std::exception& e) {
        fmt::print(stderr, "xtape-bench: {}\n", e.what());
        return 1;
    }
}
