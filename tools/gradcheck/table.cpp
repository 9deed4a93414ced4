// The check's records as a plain-text table, for people.
#include <algorithm>
#include <ostream>

#include <fmt/format.h>

#include "report.hpp"

namespace xtape::tool {

namespace {

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : ",") + name;
    return text;
}

std::vector<std::string> row_of(const CheckRecord& r) {
    const bool compared = r.gradient.checked > 0;
    return {r.loss,
            describe(r.configuration),
            joined(r.configuration.inputs),
            compared ? fmt::format("{:.2e}", r.gradient.max_abs_error) : "-",
            compared ? fmt::format("{:.2e}", r.gradient.max_rel_error) : "-",
            compared ? fmt::format("{}[{}]", r.gradient.worst_input, r.gradient.worst_index) : "-",
            r.passed() ? "ok" : "FAILED: " + r.problem};
}

}  // namespace

void print_table(std::ostream& out, const std::vector<CheckRecord>& records) {
    std::vector<std::vector<std::string>> rows = {
        {"loss", "configuration", "inputs", "max abs err", "max rel err", "worst element", "status"}};
    for (const auto& r : records) rows.push_back(row_of(r));
    // Every column but the last (the status, of any length) is padded to its widest cell.
    std::vector<std::size_t> width(rows.front().size() - 1, 0);
    for (const auto& row : rows) {
        for (std::size_t c = 0; c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < width.size(); ++c) line += fmt::format("{:<{}}  ", row[c], width[c]);
        out << line << row.back() << '\n';
    }
    const auto passed = static_cast<std::size_t>(std::count_if(records.begin(), records.end(),
                                                               [](const CheckRecord& r) { return r.passed(); }));
    out << fmt::format("{} passed, {} failed\n", passed, records.size() - passed);
}

}  // namespace xtape::tool
