// The check's records as one self-contained HTML page, for a reviewer.
#include "html_report.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report.hpp"
#include "svg_plot.hpp"
#include "tool_errors.hpp"

namespace xtape::tool {

namespace {

// One color per residual order (R0, R1, R2), and one for the central differences.
const char* const order_colors[] = {"#1f77b4", "#d62728", "#2ca02c"};
constexpr const char* difference_color = "#9467bd";
constexpr const char* reference_color = "#777";

constexpr const char* style = R"(
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.number { text-align: right; font-family: monospace; }
.failed td.status, .failed-text { color: #b00; font-weight: bold; }
.passed td.status, .passed-text { color: #070; }
section.loss { border-top: 1px solid #ccc; margin-top: 1.5em; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
svg text { font-size: 11px; fill: #333; }
svg .plot-title { font-size: 13px; font-weight: bold; }
)";

// Hides the passed rows of the table of gradient checks on request, and says that it ran.
constexpr const char* script = R"(
document.getElementById('failures-only').addEventListener('change', function (event) {
  for (const row of document.querySelectorAll('table.checks tr.passed')) row.hidden = event.target.checked;
});
document.body.dataset.script = 'ran';
)";

std::string cell(const std::string& text, const char* css_class = nullptr) {
    return css_class ? fmt::format("<td class=\"{}\">{}</td>", css_class, escaped(text))
                     : fmt::format("<td>{}</td>", escaped(text));
}

std::string sci(double value) { return std::isnan(value) ? "-" : fmt::format("{:.2e}", value); }

std::string taylor_plot(const TaylorRecord& r) {
    const TaylorResult& t = r.taylor;
    LogLogPlot plot("Taylor residuals", "eps", "residual");
    for (const auto& s : t.series) {
        std::vector<std::pair<double, double>> points;
        for (std::size_t k = 0; k < t.eps.size(); ++k) points.emplace_back(t.eps[k], s.residuals[k]);
        const char* color = order_colors[std::min<std::size_t>(s.order, 2)];
        plot.add_series(fmt::format("R{}", s.order), points, color);
        // The expected slope through the residual at the largest step.
        plot.add_slope(fmt::format("slope {}", s.expected_rate), s.expected_rate, t.eps.front(), s.residuals.front(),
                       color);
    }
    if (!t.eps.empty()) plot.add_slope("100 x rounding", 0, t.eps.front(), 100 * t.rounding, reference_color);
    return plot.svg("taylor-plot");
}

std::string difference_plot(const TaylorRecord& r, double gradcheck_eps) {
    LogLogPlot plot("Central difference error", "step", "|difference - gradient|");
    std::vector<std::pair<double, double>> points;
    for (const auto& d : r.differences) points.emplace_back(d.step, d.error);
    plot.add_series("error along h", points, difference_color);
    // The arms' expected slopes through the ends of the V: truncation through the largest
    // step (drawn only when that arm rises above the bottom: a function quadratic along h
    // has none), rounding through the smallest.
    double bottom = std::numeric_limits<double>::infinity();
    for (const auto& [step, error] : points) {
        if (error > 0) bottom = std::min(bottom, error);
    }
    if (!points.empty() && points.front().second > 100 * bottom) {
        plot.add_slope("slope 2 (truncation)", 2, points.front().first, points.front().second, order_colors[1]);
    }
    if (!points.empty() && points.back().second > 0) {
        plot.add_slope("slope -1 (rounding)", -1, points.back().first, points.back().second, order_colors[0]);
    }
    plot.add_vertical("gradcheck's eps", gradcheck_eps, reference_color);
    return plot.svg("step-plot");
}

std::string taylor_table(const TaylorResult& t) {
    std::string html = "<table class=\"taylor\"><tr><th>eps</th>";
    for (const auto& s : t.series)
        html += fmt::format("<th>R{0}</th><th>rate (expected {1})</th>", s.order, s.expected_rate);
    html += "</tr>\n";
    for (std::size_t k = 0; k < t.eps.size(); ++k) {
        html += "<tr>" + cell(sci(t.eps[k]), "number");
        for (const auto& s : t.series) {
            html += cell(sci(s.residuals[k]), "number");
            const bool rated = k < s.rates.size() && !std::isnan(s.rates[k]);
            html += cell(rated                ? fmt::format("{:.2f}", s.rates[k])
                         : k < s.rates.size() ? "below rounding"
                                              : "",
                         "number");
        }
        html += "</tr>\n";
    }
    return html + "</table>\n";
}

std::string loss_section(const TaylorRecord& r, double gradcheck_eps) {
    const TaylorResult& t = r.taylor;
    std::string html =
        fmt::format("<section class=\"loss\" id=\"{0}\" data-loss=\"{0}\" data-status=\"{1}\">\n<h3>{0}</h3>\n",
                    escaped(r.loss), r.passed() ? "passed" : "failed");
    html += fmt::format(
        "<p>Taylor test at {}, inputs {}: J(x) = {:.10g}, ∇J·h = {:.10g}, rounding level {:.2e}. "
        "<span class=\"{}\">{}</span></p>\n",
        escaped(describe(r.configuration)), escaped(fmt::format("{}", fmt::join(r.configuration.inputs, ", "))),
        t.value, t.slope, t.rounding, r.passed() ? "passed-text" : "failed-text",
        escaped(r.passed() ? to_string(t) : "FAILED: " + r.problem));
    if (!t.eps.empty()) {
        html += "<div class=\"plots\">\n" + taylor_plot(r) + difference_plot(r, gradcheck_eps) + "</div>\n";
        html += taylor_table(t);
    }
    return html + "</section>\n";
}

std::string status_table(const std::vector<CheckRecord>& records, const std::vector<TaylorRecord>& taylor) {
    std::string html =
        "<table class=\"status\"><tr><th>loss</th><th>gradient checks</th><th>Taylor test</th>"
        "<th>status</th></tr>\n";
    for (const auto& t : taylor) {
        std::size_t total = 0, passed = 0;
        for (const auto& r : records) {
            if (r.loss != t.loss) continue;
            ++total;
            passed += r.passed() ? 1 : 0;
        }
        const bool ok = passed == total && t.passed();
        html += fmt::format("<tr class=\"{}\" data-loss=\"{}\"><td><a href=\"#{}\">{}</a></td>",
                            ok ? "passed" : "failed", escaped(t.loss), escaped(t.loss), escaped(t.loss));
        html += cell(fmt::format("{} of {} passed", passed, total));
        html += cell(t.passed() ? to_string(t.taylor) : "FAILED: " + t.problem);
        html += cell(ok ? "ok" : "FAILED", "status") + "</tr>\n";
    }
    return html + "</table>\n";
}

std::string checks_table(const std::vector<CheckRecord>& records) {
    std::string html =
        "<label><input type=\"checkbox\" id=\"failures-only\"> show failures only</label>\n"
        "<table class=\"checks\"><tr><th>loss</th><th>order</th><th>configuration</th><th>inputs</th>"
        "<th>max abs err</th><th>max rel err</th><th>worst element</th><th>err/tol</th>"
        "<th>analytic</th><th>numeric</th><th>status</th></tr>\n";
    for (const auto& r : records) {
        const GradcheckResult& g = r.gradient;
        const bool compared = g.checked > 0;
        html += fmt::format("<tr class=\"{}\">", r.passed() ? "passed" : "failed");
        html += cell(r.loss) + cell(std::to_string(r.order), "number") + cell(describe(r.configuration)) +
                cell(fmt::format("{}", fmt::join(r.configuration.inputs, ", ")));
        html += cell(compared ? sci(g.max_abs_error) : "-", "number") +
                cell(compared ? sci(g.max_rel_error) : "-", "number");
        html += cell(compared ? fmt::format("{}[{}]", g.worst_input, g.worst_index) : "-");
        html += cell(compared ? fmt::format("{:.2g}", g.worst_tolerance_ratio) : "-", "number");
        html += cell(compared ? fmt::format("{:.10g}", g.worst_analytic) : "-", "number");
        html += cell(compared ? fmt::format("{:.10g}", g.worst_numeric) : "-", "number");
        html += cell(r.passed() ? "ok" : "FAILED: " + r.problem, "status") + "</tr>\n";
    }
    return html + "</table>\n";
}

}  // namespace

void write_html_report(const std::string& path, const std::vector<CheckRecord>& records,
                       const std::vector<TaylorRecord>& taylor, const CheckSettings& settings) {
    const GradcheckOptions& g = settings.gradcheck;
    std::string html = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>xtape-gradcheck report</title>\n<style>{}</style>\n</head>\n<body>\n",
        style);
    html += "<h1>xtape-gradcheck report</h1>\n";
    html += fmt::format("<p class=\"summary\">{}</p>\n", counts_line(records, taylor));
    const bool second_order = std::count(settings.orders.begin(), settings.orders.end(), 2) > 0;
    html += fmt::format(
        "<p>Gradients (order 1) from the {} loss{} against central differences in double ({} mode, eps {:g}): an "
        "element passes when |analytic - numeric| &lt;= {:g} + {:g} |numeric|. Taylor test along a random direction "
        "h with max |h| = 1: {} successive halvings of the step from the ladder {:g} / 2^j, ending at the smallest "
        "step whose R1 is still 1000 times the measured rounding level and starting below any kink "
        "the second differences show; R1 must fall at rate 1.9 or more wherever it is above 100 times the "
        "rounding level.</p>\n",
        settings.float_gradients ? "float32" : "float64",
        second_order ? ", and Hessian-vector products H v (order 2) for a random v against central differences of "
                       "the gradient,"
                     : "",
        g.fast ? "fast" : "full", g.eps, g.atol, g.rtol, settings.taylor.steps, settings.taylor.max_eps);
    html += "<h2>Status per loss</h2>\n" + status_table(records, taylor);
    html += "<h2>Per loss: the Taylor test and the central differences</h2>\n";
    for (const auto& t : taylor) html += loss_section(t, g.eps);
    html += "<h2>Every gradient check</h2>\n" + checks_table(records);
    html += fmt::format("<script>{}</script>\n</body>\n</html>\n", script);

    std::ofstream out(path, std::ios::trunc);
    out << html;
    out.close();
    if (!out) throw DataError(fmt::format("{}: cannot write the report", path));
}

}  // namespace xtape::tool
