// The check's records as one self-contained HTML page, for a reviewer.
#pragma once

#include <string>
#include <vector>

#include "check.hpp"
#include "taylor.hpp"

namespace xtape::tool {

/// Writes one HTML page that needs nothing else (no network, no other file):
/// the counts and settings, a status per loss, per loss the Taylor test's
/// residuals against eps on log-log axes with their expected slopes and the
/// V of the central difference's error against its step (inline SVG), and the
/// table of every gradient check. Its one script only lets the table hide the
/// rows that passed. Throws DataError naming the file when it cannot be written.
void write_html_report(const std::string& path, const std::vector<CheckRecord>& records,
                       const std::vector<TaylorRecord>& taylor, const CheckSettings& settings);

}  // namespace xtape::tool
