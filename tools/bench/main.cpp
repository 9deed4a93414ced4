// xtape-bench: times every loss's forward + backward, its Hessian-vector product, and whole training steps, in
// xtape and in libtorch when built with the peer.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>

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
#include "training.hpp"
#include "xtape_cases.hpp"

namespace {

using namespace xtape::bench;

/// glibc's malloc as it comes, or tuned so that it keeps freed memory: a
/// block up to 32 MiB comes from the heap rather than its own mmap, and the
/// heap is not trimmed below 1 GiB of free space. With the defaults, torch
/// returns a large step's memory to the kernel after every step and faults it
/// in again (docs/performance.md); tuned, it runs at its best: the fair peer.
/// Setting only one of the two thresholds is slower still.
enum class MallocKind { Tuned, Default };

constexpr const char* tuned_malloc_tunables =
    "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824";

/// glibc reads GLIBC_TUNABLES once, when the process starts: unless the
/// environment already asks for `kind`, the bench sets it (or, for the
/// defaults, removes it) and runs itself again. Returns only when it does.
void ensure_malloc(MallocKind kind, char** argv) {
    const char* current = std::getenv("GLIBC_TUNABLES");
    if (kind == MallocKind::Tuned) {
        if (current != nullptr && std::string_view(current) == tuned_malloc_tunables) return;
        setenv("GLIBC_TUNABLES", tuned_malloc_tunables, 1);
    } else {
        if (current == nullptr) return;
        unsetenv("GLIBC_TUNABLES");
    }
    execv("/proc/self/exe", argv);
    throw std::runtime_error(fmt::format("cannot run itself again with GLIBC_TUNABLES set: {}", std::strerror(errno)));
}

struct Arguments {
    int threads = 1;
    bool json = false;
    bool quick = false;
    bool no_torch = false;
    std::size_t reps = 0;
    std::string filter;
    std::optional<std::size_t> chunk_elements;
    ClockKind clock = ClockKind::Wall;
    MallocKind malloc = MallocKind::Tuned;
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

/// The name of a case's Hessian-vector product's row: "L2Loss/large/hvp".
std::string hvp_row_name(const CaseSpec& spec) { return spec.name + "/hvp"; }

double disagreement(const Checksums& a, const Checksums& b) {
    return std::max(relative_difference(a.output_sum, b.output_sum),
                    relative_difference(a.gradient_abs_sum, b.gradient_abs_sum));
}

/// xtape's step, torch's and, for a case with a bandwidth bound, a copy of
/// `probe` take turns, so that the ratio and the bound are measured under the
/// same conditions. A large case's steps start cold (CopyProbe::cold): they
/// read their inputs from memory, as the bound assumes.
Row measure(const CaseSpec& spec, const TimingPolicy& policy, CopyProbe& probe, bool with_torch) {
    const InputArrays inputs = spec.draw();
    const PeerStep xtape = xtape_step(spec, inputs);
    const std::optional<PeerStep> torch = with_torch ? torch_step(spec, inputs) : std::nullopt;
    const auto timed = [&](const TimedStep& step) { return spec.has_bound ? probe.cold(step) : step; };
    std::vector<TimedStep> steps{timed(xtape.step)};
    if (torch) steps.push_back(timed(torch->step));
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

/// A case's Hessian-vector product: xtape's, xtape's gradient step and
/// torch's take turns, so that the ratio to torch and to xtape's own gradient
/// are measured under the same conditions.
Row measure_hvp(const CaseSpec& spec, const TimingPolicy& policy, bool with_torch) {
    const InputArrays inputs = spec.draw();
    const xt::xarray<float> direction = draw_direction(inputs.at(spec.grad_input).shape());
    const PeerStep xtape = xtape_hvp_step(spec, inputs, direction);
    const PeerStep gradient = xtape_step(spec, inputs);
    const std::optional<TorchHvp> torch = with_torch ? torch_hvp_step(spec, inputs, direction) : std::nullopt;
    std::vector<TimedStep> steps{xtape.step, gradient.step};
    if (torch) steps.push_back(torch->peer.step);
    const std::vector<double> seconds = median_seconds(steps, policy);

    Row row;
    row.name = hvp_row_name(spec);
    row.shape = spec.shape;
    row.xtape_us = seconds[0] * 1e6;
    row.hvp = HvpTimes{seconds[1] * 1e6, torch ? std::optional(torch->method) : std::nullopt};
    if (torch) {
        row.torch_us = seconds[2] * 1e6;
        row.disagreement = disagreement(xtape.checksums(), torch->peer.checksums());
    }
    return row;
}

/// How far apart xtape's and torch's losses may be, relative, in the first
/// two steps of a training case (the second checks the optimizer's first
/// update). The same float computation summed in other orders: a logit sums
/// at most 784 products, and the worst-case rounding of the three layers'
/// sums is about (784 + 512 + 512) 2^-24 = 1.1e-4 relative to the sums of
/// |terms|, which the loss (log-sum-exp, 1-Lipschitz in each logit) passes
/// on without growth. A real mismatch (another weight layout, batch,
/// reduction or learning rate) moves the loss by percents.
constexpr double training_loss_tolerance = 1e-3;

/// xtape's training loop and torch's on the same batches from the same
/// weights: their first two losses are checked, then the runs of whole steps
/// (per step in the row) and each framework's three parts take turns (see
/// median_seconds).
Row measure_training(const TrainingSpec& spec, const TimingPolicy& policy, bool with_torch) {
    const TrainingBatches batches = draw_batches(spec);
    const XtapeTraining xtape = xtape_training(spec, batches);
    const std::optional<TrainingPeer> torch =
        with_torch ? torch_training(spec, batches, xtape.initial_weights) : std::nullopt;
    Row row;
    row.name = spec.name;
    row.shape = spec.shape;
    if (torch) {
        double worst = 0;
        for (int step = 1; step <= 2; ++step) {
            const double ours = xtape.peer.loss_step();
            const double theirs = torch->loss_step();
            const double difference = relative_difference(ours, theirs);
            if (!(difference <= training_loss_tolerance)) {
                throw std::runtime_error(fmt::format(
                    "{}: the losses of step {} differ, xtape {} and torch {} (relative {:.1e}, over {:.0e}): "
                    "not the same model, weights, batch, loss or optimizer",
                    spec.name, step, ours, theirs, difference, training_loss_tolerance));
            }
            worst = std::max(worst, difference);
        }
        row.disagreement = worst;
    }
    std::vector<TimedStep> steps{xtape.peer.steps, xtape.peer.forward, xtape.peer.backward, xtape.peer.optimizer};
    if (torch) steps.insert(steps.end(), {torch->steps, torch->forward, torch->backward, torch->optimizer});
    const std::vector<double> seconds = median_seconds(steps, policy);
    const auto phases = [&](std::size_t first) {
        return Phases{seconds[first + 1] * 1e6, seconds[first + 2] * 1e6, seconds[first + 3] * 1e6};
    };
    const double per_step = 1e6 / static_cast<double>(spec.steps_per_run);
    row.xtape_us = seconds[0] * per_step;
    row.xtape_phases = phases(0);
    if (torch) {
        row.torch_us = seconds[4] * per_step;
        row.torch_phases = phases(4);
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
    report.clock_overhead_ns = clock_overhead_seconds(args.clock) * 1e9;
    report.malloc = args.malloc == MallocKind::Tuned ? "tuned" : "default";
    report.torch_version = args.no_torch ? std::nullopt : torch_peer_version();
    report.kernels = xtape::kernel_instruction_set();

    const std::size_t mib = 1 << 20;
    CopyProbe probe((args.quick ? 32 : 256) * mib);
    report.bandwidth_gb_s = probe.bandwidth(median_seconds(probe.step(), probe_policy)) / 1e9;

    std::vector<std::string> unsupported;
    const auto cases = make_cases(args.quick ? Sizes::quick() : Sizes::full(), unsupported);
    for (const auto& name : unsupported) fmt::print(stderr, "xtape-bench: no inputs known for {}; skipped\n", name);
    const auto selected = [&](const std::string& name) { return name.find(args.filter) != std::string::npos; };
    for (const CaseSpec& spec : cases) {
        if (selected(spec.name)) {
            fmt::print(stderr, "{}\n", spec.name);
            report.rows.push_back(measure(spec, case_policy, probe, report.torch_version.has_value()));
        }
        if (spec.has_hvp && selected(hvp_row_name(spec))) {
            fmt::print(stderr, "{}\n", hvp_row_name(spec));
            report.rows.push_back(measure_hvp(spec, case_policy, report.torch_version.has_value()));
        }
    }
    for (const TrainingSpec& spec : make_training_specs()) {
        if (!selected(spec.name)) continue;
        fmt::print(stderr, "{}\n", spec.name);
        report.rows.push_back(measure_training(spec, case_policy, report.torch_version.has_value()));
    }
    report.tape_overhead_ns = tape_overhead_ns(probe_policy);

    std::cout << (args.json ? to_json(report) : to_table(report)) << std::flush;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Times forward + backward of every xtape loss, its Hessian-vector product (large and CTC cases) and "
                 "whole training steps (float32), against libtorch when built with it."};
    Arguments args;
    app.add_option("--threads", args.threads, "threads of xtape's BLAS/OpenMP and of torch")
        ->check(CLI::PositiveNumber);
    app.add_flag("--json", args.json, "print JSON instead of the table");
    app.add_flag("--quick", args.quick, "reduced sizes and two repetitions: a smoke test, not a measurement");
    app.add_flag("--no-torch", args.no_torch, "time xtape alone");
    app.add_option("--reps", args.reps, "exactly this many timed repetitions of each case after one warm-up (for profiling)");
    app.add_option("--filter", args.filter,
                   "only the cases whose name contains this text (\"/hvp\": the Hessian-vector products alone)");
    app.add_option("--chunk-elements", args.chunk_elements,
                   "elements per chunk of a large loss (xtape::LossChunkingScope; 0: no chunking)");
    app.add_option("--clock", args.clock,
                   "wall: elapsed time; cpu: the thread's CPU time, unaffected by other processes "
                   "(one thread only)")
        ->transform(CLI::CheckedTransformer(std::map<std::string, ClockKind>{{"wall", ClockKind::Wall},
                                                                            {"cpu", ClockKind::ThreadCpu}}));
    app.add_option("--malloc", args.malloc,
                   "tuned: glibc's malloc keeps freed memory (GLIBC_TUNABLES " + std::string(tuned_malloc_tunables) +
                       ", replacing any other tunables), torch's fair peer; default: glibc's defaults (GLIBC_TUNABLES "
                       "removed). The bench runs itself again with that environment")
        ->transform(CLI::CheckedTransformer(std::map<std::string, MallocKind>{{"tuned", MallocKind::Tuned},
                                                                             {"default", MallocKind::Default}}));
    CLI11_PARSE(app, argc, argv);
    if (args.clock == ClockKind::ThreadCpu && args.threads != 1) {
        fmt::print(stderr, "xtape-bench: --clock cpu measures one thread; it needs --threads 1\n");
        return 2;
    }
    try {
        ensure_malloc(args.malloc, argv);
        return run(args);
    } catch (const std::exception& e) {
        fmt::print(stderr, "xtape-bench: {}\n", e.what());
        return 1;
    }
}
