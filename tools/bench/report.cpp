// The benchmark's results, printed as a table or as JSON.
#include "report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace xtape::bench {

namespace {

std::optional<double> quotient(const std::optional<double>& numerator, const std::optional<double>& denominator) {
    if (!numerator || !denominator) return std::nullopt;
    return *numerator / *denominator;
}

std::string number_or_dash(const std::optional<double>& value, const char* format) {
    return value ? fmt::format(fmt::runtime(format), *value) : std::string("-");
}

nlohmann::json number_or_null(const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json cold_json(const ColdRun& cold, const std::optional<double>& bound_us) {
    return {{"xtape_us", cold.xtape_us},
            {"torch_us", number_or_null(cold.torch_us)},
            {"ratio", number_or_null(quotient(cold.xtape_us, cold.torch_us))},
            {"over_bound", number_or_null(quotient(cold.xtape_us, bound_us))}};
}

}  // namespace

std::optional<double> Row::ratio() const { return quotient(xtape_us, torch_us); }

std::string to_table(const Report& report) {
    std::string out = fmt::format("threads {}{}, {} clock, xtape kernels {}, copy bandwidth {:.1f} GB/s at the start, torch {}\n",
                                  report.threads, report.quick ? " (quick: reduced sizes, few repetitions)" : "",
                                  report.clock, report.kernels, report.bandwidth_gb_s,
                                  report.torch_version.value_or("absent"));
    out += fmt::format("tape overhead: {:.0f} ns per recorded op (record + backward)\n\n", report.tape_overhead_ns);
    out += "warm: after a run of the same step\n";
    out += fmt::format("{:<38} {:<20} {:>11} {:>11} {:>7} {:>10} {:>6} {:>8} {:>8}\n", "case", "shape", "xtape us",
                       "torch us", "ratio", "bound us", "GB/s", "x/bound", "differ");
    for (const Row& row : report.rows) {
        out += fmt::format("{:<38} {:<20} {:>11.1f} {:>11} {:>7} {:>10} {:>6} {:>8} {:>8}\n", row.name, row.shape,
                           row.xtape_us, number_or_dash(row.torch_us, "{:.1f}"), number_or_dash(row.ratio(), "{:.2f}"),
                           number_or_dash(row.bound_us, "{:.1f}"), number_or_dash(row.bandwidth_gb_s, "{:.1f}"),
                           number_or_dash(quotient(row.xtape_us, row.bound_us), "{:.1f}"),
                           number_or_dash(row.disagreement, "{:.0e}"));
    }
    out += "\ncold: after a copy of the bandwidth probe, the inputs in memory\n";
    out += fmt::format("{:<38} {:>11} {:>11} {:>7} {:>10} {:>8}\n", "case", "xtape us", "torch us", "ratio",
                       "bound us", "x/bound");
    for (const Row& row : report.rows) {
        if (!row.cold) continue;
        out += fmt::format("{:<38} {:>11.1f} {:>11} {:>7} {:>10} {:>8}\n", row.name, row.cold->xtape_us,
                           number_or_dash(row.cold->torch_us, "{:.1f}"),
                           number_or_dash(quotient(row.cold->xtape_us, row.cold->torch_us), "{:.2f}"),
                           number_or_dash(row.bound_us, "{:.1f}"),
                           number_or_dash(quotient(row.cold->xtape_us, row.bound_us), "{:.1f}"));
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
                        {"cold", row.cold ? cold_json(*row.cold, row.bound_us) : nlohmann::json(nullptr)}});
    }
    const nlohmann::json json = {
        {"threads", report.threads},
        {"quick", report.quick},
        {"clock", report.clock},
        {"torch", report.torch_version ? nlohmann::json(*report.torch_version) : nlohmann::json(nullptr)},
        {"kernels", report.kernels},
        {"bandwidth_gb_s", report.bandwidth_gb_s},
        {"rows", std::move(rows)},
        {"tape_overhead_ns", report.tape_overhead_ns},
    };
    return json.dump(2) + "\n";
}

}  // namespace xtape::bench
