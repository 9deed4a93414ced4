// The benchmark's results, printed as a table or as JSON.
#include "report.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace xtape::bench {

namespace {

/// xtape / torch: below 1, xtape is faster; none without torch.
std::optional<double> ratio_of(double xtape, const std::optional<double>& torch) {
    if (!torch) return std::nullopt;
    return xtape / *torch;
}

/// torch's time for one part of a training step; none without torch.
std::optional<double> torch_part(const Row& row, double Phases::*part) {
    if (!row.torch_phases) return std::nullopt;
    return (*row.torch_phases).*part;
}

const std::pair<const char*, double Phases::*> step_parts[] = {
    {"forward", &Phases::forward_us}, {"backward", &Phases::backward_us}, {"optimizer", &Phases::optimizer_us}};

}  // namespace

std::optional<double> Row::ratio() const { return ratio_of(xtape_us, torch_us); }

namespace {

std::string number_or_dash(const std::optional<double>& value, const char* format) {
    return value ? fmt::format(fmt::runtime(format), *value) : std::string("-");
}

nlohmann::json number_or_null(const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

/// A training step's parts, each with xtape's time, torch's and their ratio; null for a loss.
nlohmann::json phases_json(const Row& row) {
    if (!row.xtape_phases) return nullptr;
    nlohmann::json out;
    for (const auto& [name, part] : step_parts) {
        const double xtape = (*row.xtape_phases).*part;
        const std::optional<double> torch = torch_part(row, part);
        out[name] = {{"xtape_us", xtape},
                     {"torch_us", number_or_null(torch)},
                     {"ratio", number_or_null(ratio_of(xtape, torch))}};
    }
    return out;
}

/// A Hessian-vector product's own numbers; null for any other row.
nlohmann::json hvp_json(const Row& row) {
    if (!row.hvp) return nullptr;
    return {{"xtape_gradient_us", row.hvp->xtape_gradient_us},
            {"over_gradient", row.xtape_us / row.hvp->xtape_gradient_us},
            {"torch_method", row.hvp->torch_method ? nlohmann::json(*row.hvp->torch_method) : nlohmann::json(nullptr)}};
}

}  // namespace

std::string to_table(const Report& report) {
    std::string out = fmt::format("threads {}{}, {} clock (its own cost, {:.0f} ns at the start, timed alongside "
                                  "every case and subtracted), xtape kernels {}, copy bandwidth {:.1f} GB/s at the "
                                  "start, torch {}\n",
                                  report.threads, report.quick ? " (quick: reduced sizes, few repetitions)" : "",
                                  report.clock, report.clock_overhead_ns, report.kernels, report.bandwidth_gb_s,
                                  report.torch_version.value_or("absent"));
    out += report.malloc == "tuned"
               ? "malloc tuned (GLIBC_TUNABLES mmap_threshold 32 MiB, trim_threshold 1 GiB): torch's fair peer, "
                 "not giving memory back to the kernel every step; --malloc default for glibc's defaults\n"
               : "malloc glibc's defaults: torch gives memory back to the kernel and faults it in again every step\n";
    out += fmt::format("tape overhead: {:.0f} ns per recorded op (record + backward)\n\n", report.tape_overhead_ns);
    const auto is_step = [](const Row& row) { return row.xtape_phases.has_value(); };
    const auto is_hvp = [](const Row& row) { return row.hvp.has_value(); };
    const auto is_loss = [&](const Row& row) { return !is_step(row) && !is_hvp(row); };
    if (std::any_of(report.rows.begin(), report.rows.end(), is_loss)) {
        out += fmt::format("{:<38} {:<20} {:>11} {:>11} {:>7} {:>10} {:>6} {:>8} {:>8}\n", "case", "shape",
                           "xtape us", "torch us", "ratio", "bound us", "GB/s", "x/bound", "differ");
    }
    for (const Row& row : report.rows) {
        if (!is_loss(row)) continue;
        const std::optional<double> over_bound =
            row.bound_us ? std::optional<double>(row.xtape_us / *row.bound_us) : std::nullopt;
        out += fmt::format("{:<38} {:<20} {:>11.1f} {:>11} {:>7} {:>10} {:>6} {:>8} {:>8}\n", row.name, row.shape,
                           row.xtape_us, number_or_dash(row.torch_us, "{:.1f}"), number_or_dash(row.ratio(), "{:.2f}"),
                           number_or_dash(row.bound_us, "{:.1f}"), number_or_dash(row.bandwidth_gb_s, "{:.1f}"),
                           number_or_dash(over_bound, "{:.1f}"),
                           number_or_dash(row.disagreement, "{:.0e}"));
    }
    if (std::any_of(report.rows.begin(), report.rows.end(), is_hvp)) {
        out += "\nHessian-vector products of the summed loss: xtape's, torch's, and xtape's gradient step timed "
               "alongside\n";
        out += fmt::format("{:<38} {:<20} {:>11} {:>11} {:>7} {:>11} {:>9} {:<18} {:>8}\n", "case", "shape",
                           "xtape us", "torch us", "ratio", "gradient us", "hvp/grad", "torch method", "differ");
    }
    for (const Row& row : report.rows) {
        if (!is_hvp(row)) continue;
        out += fmt::format("{:<38} {:<20} {:>11.1f} {:>11} {:>7} {:>11.1f} {:>9.2f} {:<18} {:>8}\n", row.name,
                           row.shape, row.xtape_us, number_or_dash(row.torch_us, "{:.1f}"),
                           number_or_dash(row.ratio(), "{:.2f}"), row.hvp->xtape_gradient_us,
                           row.xtape_us / row.hvp->xtape_gradient_us, row.hvp->torch_method.value_or("-"),
                           number_or_dash(row.disagreement, "{:.0e}"));
    }
    if (std::none_of(report.rows.begin(), report.rows.end(), is_step)) return out;
    // A part's three columns: xtape, torch and their ratio.
    const auto columns = [](double xtape, const std::optional<double>& torch) {
        return fmt::format("{:>9.1f} {:>9} {:>5}", xtape, number_or_dash(torch, "{:.1f}"),
                           number_or_dash(ratio_of(xtape, torch), "{:.2f}"));
    };
    out += "\ntraining steps: the whole step timed in runs of steps back to back, its parts each on its own; "
           "xtape us, torch us, ratio\n";
    out += fmt::format("{:<13} {:<47} {:^25} {:^25} {:^25} {:^25} {:>8}\n", "case", "model", "step", "forward+loss",
                       "backward", "optimizer", "differ");
    for (const Row& row : report.rows) {
        if (!is_step(row)) continue;
        out += fmt::format("{:<13} {:<47} {}", row.name, row.shape, columns(row.xtape_us, row.torch_us));
        for (const auto& [name, part] : step_parts) {
            out += fmt::format(" {}", columns((*row.xtape_phases).*part, torch_part(row, part)));
        }
        out += fmt::format(" {:>8}\n", number_or_dash(row.disagreement, "{:.0e}"));
    }
    return out;
}

std::string to_json(const Report& report) {
    nlohmann::json rows = nlohmann::json::array();
    for (const Row& row : report.rows) {
        rows.push_back({{"case", row.name},
                        {"shape", row.shape},
                        {"dtype", row.dtype},
                        {"xtape_us", row.xtape_us},
                        {"torch_us", number_or_null(row.torch_us)},
                        {"ratio", number_or_null(row.ratio())},
                        {"bound_us", number_or_null(row.bound_us)},
                        {"bandwidth_gb_s", number_or_null(row.bandwidth_gb_s)},
                        {"disagreement", number_or_null(row.disagreement)},
                        {"phases", phases_json(row)},
                        {"hvp", hvp_json(row)}});
    }
    const nlohmann::json json = {
        {"threads", report.threads},
        {"quick", report.quick},
        {"clock", report.clock},
        {"clock_overhead_ns", report.clock_overhead_ns},
        {"malloc", report.malloc},
        {"torch", report.torch_version ? nlohmann::json(*report.torch_version) : nlohmann::json(nullptr)},
        {"kernels", report.kernels},
        {"bandwidth_gb_s", report.bandwidth_gb_s},
        {"rows", std::move(rows)},
        {"tape_overhead_ns", report.tape_overhead_ns},
    };
    return json.dump(2) + "\n";
}

}  // namespace xtape::bench
