// The check's records as one JSON document, for programs.
#include <algorithm>
#include <cmath>
#include <ostream>

#include <nlohmann/json.hpp>

#include "report.hpp"

namespace xtape::tool {

namespace {

// JSON has no infinity or NaN: such an error is written as null.
nlohmann::json number(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }

nlohmann::json record_json(const CheckRecord& r) {
    const Configuration& c = r.configuration;
    nlohmann::json shape = nlohmann::json::array();
    for (std::size_t d : c.pred_shape) shape.push_back(d);
    return {
        {"loss", r.loss},
        {"configuration", describe(c)},
        {"options", c.options},
        {"shape", shape},
        {"seed", c.seed},
        {"inputs", c.inputs},
        {"status", r.passed() ? "passed" : "failed"},
        {"problem", r.problem},
        {"gradient",
         {{"checked", r.gradient.checked},
          {"passed", r.gradient.passed && r.gradient.problem.empty()},
          {"max_abs_error", number(r.gradient.max_abs_error)},
          {"max_rel_error", number(r.gradient.max_rel_error)},
          {"worst_input", r.gradient.worst_input},
          {"worst_index", r.gradient.worst_index},
          {"worst_analytic", number(r.gradient.worst_analytic)},
          {"worst_numeric", number(r.gradient.worst_numeric)}}},
        {"float_vs_double",
         {{"passed", r.precision.passed},
          {"max_rel_error", number(r.precision.max_rel_error)},
          {"worst", r.precision.worst}}},
    };
}

}  // namespace

void print_json(std::ostream& out, const std::vector<CheckRecord>& records, const CheckSettings& settings) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& r : records) checks.push_back(record_json(r));
    const auto passed = std::count_if(records.begin(), records.end(), [](const CheckRecord& r) { return r.passed(); });
    const GradcheckOptions& g = settings.gradcheck;
    const nlohmann::json document = {
        {"settings",
         {{"gradients", settings.float_gradients ? "float32" : "float64"},
          {"eps", g.eps},
          {"atol", g.atol},
          {"rtol", g.rtol},
          {"fast", g.fast},
          {"float_rtol", float_rtol}}},
        {"checks", checks},
        {"passed", passed},
        {"failed", static_cast<std::ptrdiff_t>(records.size()) - passed},
    };
    // Messages are ASCII, but an invalid byte must not abort the report: replace it.
    out << document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

}  // namespace xtape::tool
