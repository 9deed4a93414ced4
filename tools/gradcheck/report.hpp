// Printing the records of a check: a table for people, JSON for programs.
#pragma once

#include <iosfwd>
#include <vector>

#include "check.hpp"

namespace xtape::tool {

/// One row per record (loss, configuration, inputs, max abs error, max rel
/// error, worst element, status), then the line "N passed, M failed".
void print_table(std::ostream& out, const std::vector<CheckRecord>& records);

/// One JSON document: the settings, every record, and the counts.
void print_json(std::ostream& out, const std::vector<CheckRecord>& records, const CheckSettings& settings);

}  // namespace xtape::tool
