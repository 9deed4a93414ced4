// Printing the records of a check: tables for people, JSON for programs.
#pragma once

#include <iosfwd>
#include <vector>

#include "check.hpp"
#include "taylor.hpp"

namespace xtape::tool {

/// One row per gradient record (loss, order, configuration, inputs, max abs
/// error, max rel error, worst element and its error over its tolerance,
/// status; at order 2 the elements are those of H v), a row
/// per Taylor record (print_taylor_rows), then "N passed, M failed" over both.
void print_table(std::ostream& out, const std::vector<CheckRecord>& records, const std::vector<TaylorRecord>& taylor);

/// For each Taylor record, pyadjoint's table: every step with each residual and
/// its rate, then the verdict; then "N passed, M failed".
void print_taylor(std::ostream& out, const std::vector<TaylorRecord>& taylor);

/// One JSON document: the settings, every record, and the counts over both kinds.
void print_json(std::ostream& out, const std::vector<CheckRecord>& records, const std::vector<TaylorRecord>& taylor,
                const CheckSettings& settings);

/// "N passed, M failed" over both kinds of record.
std::string counts_line(const std::vector<CheckRecord>& records, const std::vector<TaylorRecord>& taylor);

}  // namespace xtape::tool
