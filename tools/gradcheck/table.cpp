// The check's records as plain-text tables, for people.
#include <algorithm>
#include <cmath>
#include <ostream>

#include <fmt/format.h>

#include "report.hpp"

namespace xtape::tool {

namespace {

using Rows = std::vector<std::vector<std::string>>;

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : ",") + name;
    return text;
}

// Every column but the last (the status, of any length) padded to its widest cell.
void print_rows(std::ostream& out, const Rows& rows) {
    std::vector<std::size_t> width(rows.front().size() - 1, 0);
    for (const auto& row : rows) {
        for (std::size_t c = 0; c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < width.size(); ++c) line += fmt::format("{:<{}}  ", row[c], width[c]);
        out << line << row.back() << '\n';
    }
}

std::vector<std::string> row_of(const CheckRecord& r) {
    const GradcheckResult& g = r.gradient;
    const bool compared = g.checked > 0;
    return {r.loss,
            std::to_string(r.order),
            describe(r.configuration),
            joined(r.configuration.inputs),
            compared ? fmt::format("{:.2e}", g.max_abs_error) : "-",
            compared ? fmt::format("{:.2e}", g.max_rel_error) : "-",
            compared ? fmt::format("{}[{}]", g.worst_input, g.worst_index) : "-",
            compared ? fmt::format("{:.2g}", g.worst_tolerance_ratio) : "-",
            r.passed() ? "ok" : "FAILED: " + r.problem};
}

// A series' smallest rate over the steps above rounding, "rounding" when it never leaves it.
std::string rate_cell(const TaylorSeries& s) {
    if (s.at_rounding) return "rounding";
    return std::isnan(s.min_rate) ? "-" : fmt::format("{:.2f}", s.min_rate);
}

std::vector<std::string> row_of(const TaylorRecord& r, std::size_t orders) {
    const TaylorResult& t = r.taylor;
    std::vector<std::string> row{r.loss, describe(r.configuration), joined(r.configuration.inputs),
                                 t.eps.empty() ? "-" : fmt::format("{:.2e}", t.eps.front())};
    for (std::size_t p = 0; p < orders; ++p) row.push_back(p < t.series.size() ? rate_cell(t.series[p]) : "-");
    row.push_back(r.passed() ? "ok" : "FAILED: " + r.problem);
    return row;
}

// The number of residual series (R0, R1, and R2 once a curvature is given) of the widest record.
std::size_t orders_of(const std::vector<TaylorRecord>& taylor) {
    std::size_t orders = 2;
    for (const auto& r : taylor) orders = std::max(orders, r.taylor.series.size());
    return orders;
}

void print_taylor_rows(std::ostream& out, const std::vector<TaylorRecord>& taylor) {
    const std::size_t orders = orders_of(taylor);
    std::vector<std::string> header{"Taylor test", "configuration", "inputs", "eps0"};
    for (std::size_t p = 0; p < orders; ++p) {
        // The required rate as the records state it (R0 requires none).
        double required = 0;
        for (const auto& r : taylor) {
            if (p < r.taylor.series.size()) required = r.taylor.series[p].required_rate;
        }
        header.push_back(required > 0 ? fmt::format("R{} rate (>= {})", p, required) : fmt::format("R{} rate", p));
    }
    header.push_back("status");
    Rows rows{header};
    for (const auto& r : taylor) rows.push_back(row_of(r, orders));
    print_rows(out, rows);
}

}  // namespace

std::string counts_line(const std::vector<CheckRecord>& records, const std::vector<TaylorRecord>& taylor) {
    const auto passed = std::count_if(records.begin(), records.end(), [](const CheckRecord& r) { return r.passed(); }) +
                        std::count_if(taylor.begin(), taylor.end(), [](const TaylorRecord& r) { return r.passed(); });
    const auto total = static_cast<std::ptrdiff_t>(records.size() + taylor.size());
    return fmt::format("{} passed, {} failed", passed, total - passed);
}

void print_table(std::ostream& out, const std::vector<CheckRecord>& records, const std::vector<TaylorRecord>& taylor) {
    Rows rows{{"loss", "order", "configuration", "inputs", "max abs err", "max rel err", "worst element", "err/tol", "status"}};
    for (const auto& r : records) rows.push_back(row_of(r));
    print_rows(out, rows);
    if (!taylor.empty()) {
        out << '\n';
        print_taylor_rows(out, taylor);
    }
    out << counts_line(records, taylor) << '\n';
}

void print_taylor(std::ostream& out, const std::vector<TaylorRecord>& taylor) {
    for (const auto& r : taylor) {
        const TaylorResult& t = r.taylor;
        out << fmt::format("{} {} inputs {}\n", r.loss, describe(r.configuration), joined(r.configuration.inputs));
        if (!t.eps.empty()) {
            out << fmt::format("J(x) = {:.10g}, ∇J·h = {:.10g}, rounding level {:.2e}\n", t.value, t.slope, t.rounding);
            Rows rows{{"  eps"}};
            for (const auto& s : t.series) {
                rows.front().push_back(fmt::format("R{}", s.order));
                rows.front().push_back("rate");
            }
            for (std::size_t k = 0; k < t.eps.size(); ++k) {
                std::vector<std::string> row{fmt::format("  {:.3e}", t.eps[k])};
                for (const auto& s : t.series) {
                    row.push_back(fmt::format("{:.3e}", s.residuals[k]));
                    const bool rated = k < s.rates.size() && !std::isnan(s.rates[k]);
                    row.push_back(rated ? fmt::format("{:.2f}", s.rates[k]) : k < s.rates.size() ? "-" : "");
                }
                rows.push_back(row);
            }
            print_rows(out, rows);
        }
        out << (r.passed() ? to_string(t) : "FAILED: " + r.problem) << "\n\n";
    }
    out << counts_line({}, taylor) << '\n';
}

}  // namespace xtape::tool
