// The check's records as one JSON document, for programs.
#include <algorithm>
#include <cmath>
#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report.hpp"

namespace xtape::tool {

namespace {

// JSON has no infinity or NaN: such an error is written as null.
nlohmann::json number(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }

nlohmann::json record_json(const CheckRecord& r) {
    const Configuration& c = r.configuration;
    // Float is compared with double at order 1 only.
    const nlohmann::json precision = r.order == 1 ? nlohmann::json{{"passed", r.precision.passed},
                                                                   {"max_rel_error", number(r.precision.max_rel_error)},
                                                                   {"worst", r.precision.worst}}
                                                  : nlohmann::json();
    return {
        {"loss", r.loss},
        {"order", r.order},
        {"configuration", describe(c)},
        {"options", c.options},
        {"shape", c.pred_shape},
        {"seed", c.seed},
        {"inputs", c.inputs},
        {"status", r.passed() ? "passed" : "failed"},
        {"problem", r.problem},
        {"gradient",
         {{"checked", r.gradient.checked},
          {"failures", r.gradient.failures},
          {"passed", r.gradient.passed && r.gradient.problem.empty()},
          {"problem", r.gradient.problem},
          {"max_abs_error", number(r.gradient.max_abs_error)},
          {"max_rel_error", number(r.gradient.max_rel_error)},
          {"worst_input", r.gradient.worst_input},
          {"worst_index", r.gradient.worst_index},
          {"worst_analytic", number(r.gradient.worst_analytic)},
          {"worst_numeric", number(r.gradient.worst_numeric)},
          {"worst_tolerance_ratio", number(r.gradient.worst_tolerance_ratio)}}},
        {"float_vs_double", precision},
    };
}

nlohmann::json numbers(const std::vector<double>& values) {
    nlohmann::json out = nlohmann::json::array();
    for (double v : values) out.push_back(number(v));
    return out;
}

nlohmann::json taylor_json(const TaylorRecord& r) {
    const TaylorResult& t = r.taylor;
    nlohmann::json series = nlohmann::json::array();
    for (const auto& s : t.series) {
        series.push_back({{"name", fmt::format("R{}", s.order)},
                          {"expected_rate", s.expected_rate},
                          {"required_rate", number(s.order == 0 ? NAN : s.required_rate)},
                          {"residuals", numbers(s.residuals)},
                          {"rates", numbers(s.rates)},
                          {"min_rate", number(s.min_rate)},
                          {"at_rounding", s.at_rounding}});
    }
    nlohmann::json differences = nlohmann::json::array();
    for (const auto& d : r.differences) differences.push_back({{"step", d.step}, {"error", number(d.error)}});
    return {
        {"loss", r.loss},
        {"configuration", describe(r.configuration)},
        {"options", r.configuration.options},
        {"shape", r.configuration.pred_shape},
        {"seed", r.configuration.seed},
        {"inputs", r.configuration.inputs},
        {"status", r.passed() ? "passed" : "failed"},
        {"problem", r.problem},
        {"value", number(t.value)},
        {"slope", number(t.slope)},
        {"rounding", number(t.rounding)},
        {"eps", numbers(t.eps)},
        {"series", series},
        {"central_differences", differences},
    };
}

}  // namespace

void print_json(std::ostream& out, const std::vector<CheckRecord>& records, const std::vector<TaylorRecord>& taylor,
                const CheckSettings& settings) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& r : records) checks.push_back(record_json(r));
    nlohmann::json taylor_tests = nlohmann::json::array();
    for (const auto& r : taylor) taylor_tests.push_back(taylor_json(r));
    const auto passed = std::count_if(records.begin(), records.end(), [](const CheckRecord& r) { return r.passed(); }) +
                        std::count_if(taylor.begin(), taylor.end(), [](const TaylorRecord& r) { return r.passed(); });
    const GradcheckOptions& g = settings.gradcheck;
    const TaylorOptions& t = settings.taylor;
    nlohmann::json used = {{"taylor", {{"steps", t.steps}, {"max_eps", t.max_eps}, {"eps0", t.eps0}}}};
    // The gradient checks' settings only where there are gradient checks (not for `taylor`).
    if (!records.empty()) {
        used.update({{"orders", settings.orders},
                     {"gradients", settings.float_gradients ? "float32" : "float64"},
                     {"eps", g.eps},
                     {"atol", g.atol},
                     {"rtol", g.rtol},
                     {"fast", g.fast},
                     {"float_rtol", float_rtol}});
    }
    const nlohmann::json document = {
        {"settings", used},
        {"checks", checks},
        {"taylor", taylor_tests},
        {"passed", passed},
        {"failed", static_cast<std::ptrdiff_t>(records.size() + taylor.size()) - passed},
    };
    // Messages are ASCII, but an invalid byte must not abort the report: replace it.
    out << document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

}  // namespace xtape::tool
