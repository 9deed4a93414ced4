// The benchmark's results, printed as a table or as JSON.
#include "report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace xtape::bench {

std::optional<double> Row::ratio() const {
    if (!torch_us) return std::nullopt;
    return xtape_us / *torch_us;
}

namespace {

std::string number_or_dash(const std::optional<double>& value, const char* format) {
    return value ? fmt::format(fmt::runtime(format), *value) : std::string("-");
}

nlohmann::json number_or_null(const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

std::string to_table(const Report& report) {
    std::string out = fmt::format("threads {}{}, {} clock, xtape kernels {}, copy bandwidth {:.1f} GB/s at the start, "
                                  "torch {}\n",
                                  report.threads, report.quick ? " (quick: reduced sizes, few repetitions)" : "",
                                  report.clock, report.kernels, report.bandwidth_gb_s,
                                  report.torch_version.value_or("absent"));
    out += fmt::format("tape overhead: {:.0f} ns per recorded op (record + backward)\n\n", report.tape_overhead_ns);
    out += fmt::format("{:<38} {:<20} {:>11} {:>11} {:>7} {:>10} {:>6} {:>8} {:>8}\n", "case", "shape", "xtape us",
                       "torch us", "ratio", "bound us", "GB/s", "x/bound", "differ");
    for (const Row& row : report.rows) {
        const std::optional<double> over_bound =
            row.bound_us ? std::optional<double>(row.xtape_us / *row.bound_us) : std::nullopt;
        out += fmt::format("{:<38} {:<20} {:>11.1f} {:>11} {:>7} {:>10} {:>6} {:>8} {:>8}\n", row.name, row.shape,
                           row.xtape_us, number_or_dash(row.torch_us, "{:.1f}"), number_or_dash(row.ratio(), "{:.2f}"),
                           number_or_dash(row.bound_us, "{:.1f}"), number_or_dash(row.bandwidth_gb_s, "{:.1f}"),
                           number_or_dash(over_bound, "{:.1f}"),
                           number_or_dash(row.disagreement, "{:.0e}"));
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
                        {"disagreement", number_or_null(row.disagreement)}});
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
