// Log-log plots written as inline SVG: the report's pictures, with no library and no script.
#include "svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace xtape::tool {

namespace {

// The plot area inside the picture, in SVG user units.
constexpr double width = 460, height = 300;
constexpr double left = 70, right = 150, top = 30, bottom = 50;
constexpr double plot_width = width - left - right, plot_height = height - top - bottom;

bool drawable(double x, double y) { return x > 0 && y > 0 && std::isfinite(x) && std::isfinite(y); }

// The whole decades [lo, hi] of log10 around the values, at least one decade wide.
struct Range {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -std::numeric_limits<double>::infinity();

    void add(double value) {
        lo = std::min(lo, std::floor(std::log10(value)));
        hi = std::max(hi, std::ceil(std::log10(value)));
    }
    void finish() {
        if (!(lo <= hi)) lo = -1, hi = 0;  // nothing drawable: an empty decade
        if (lo == hi) hi = lo + 1;
    }
    double fraction(double value) const { return (std::log10(value) - lo) / (hi - lo); }
    // A tick every `step` decades, so that at most about eight are labelled.
    int step() const { return std::max(1, static_cast<int>(std::ceil((hi - lo) / 8))); }
};

}  // namespace

std::string escaped(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

LogLogPlot::LogLogPlot(std::string title, std::string x_label, std::string y_label)
    : title_(std::move(title)), x_label_(std::move(x_label)), y_label_(std::move(y_label)) {}

void LogLogPlot::add_series(std::string name, std::vector<std::pair<double, double>> points, std::string color) {
    series_.push_back({std::move(name), std::move(points), std::move(color)});
}

void LogLogPlot::add_slope(std::string name, double slope, double x, double y, std::string color) {
    slopes_.push_back({std::move(name), slope, x, y, std::move(color)});
}

void LogLogPlot::add_vertical(std::string name, double x, std::string color) {
    verticals_.push_back({std::move(name), x, std::move(color)});
}

std::string LogLogPlot::svg(const std::string& css_class) const {
    Range xr, yr;
    for (const auto& s : series_) {
        for (const auto& [x, y] : s.points) {
            if (drawable(x, y)) xr.add(x), yr.add(y);
        }
    }
    for (const auto& v : verticals_) {
        if (drawable(v.x, 1)) xr.add(v.x);
    }
    // A horizontal reference (a level, slope 0) shows only if its level is in range.
    for (const auto& s : slopes_) {
        if (s.slope == 0 && drawable(s.x, s.y)) yr.add(s.y);
    }
    xr.finish();
    yr.finish();
    const auto px = [&](double x) { return left + xr.fraction(x) * plot_width; };
    const auto py = [&](double y) { return top + (1 - yr.fraction(y)) * plot_height; };

    std::string out = fmt::format(
        "<svg class=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" "
        "role=\"img\" aria-label=\"{}\">\n<title>{}</title>\n",
        escaped(css_class), width, height, width, height, escaped(title_), escaped(title_));
    out += fmt::format("<text x=\"{}\" y=\"18\" class=\"plot-title\">{}</text>\n", left, escaped(title_));
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n", left,
                       top, plot_width, plot_height);
    // Decade ticks and grid lines.
    for (int e = static_cast<int>(xr.lo); e <= static_cast<int>(xr.hi); e += xr.step()) {
        const double x = left + (e - xr.lo) / (xr.hi - xr.lo) * plot_width;
        out += fmt::format(
            "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#eee\"/>"
            "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\" class=\"tick\">1e{4}</text>\n",
            x, top, top + plot_height, top + plot_height + 14, e);
    }
    for (int e = static_cast<int>(yr.lo); e <= static_cast<int>(yr.hi); e += yr.step()) {
        const double y = top + (1 - (e - yr.lo) / (yr.hi - yr.lo)) * plot_height;
        out += fmt::format(
            "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#eee\"/>"
            "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\" class=\"tick\">1e{5}</text>\n",
            left, y, left + plot_width, left - 4, y + 4, e);
    }
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"axis\">{}</text>\n",
                       left + plot_width / 2, height - 12, escaped(x_label_));
    out += fmt::format(
        "<text transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\" class=\"axis\">{}</text>\n",
        top + plot_height / 2, escaped(y_label_));

    // The data, clipped to the plot area by a nested <svg> (no ids to collide between plots).
    out += fmt::format("<svg x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" viewBox=\"{} {} {} {}\">\n", left, top,
                       plot_width, plot_height, left, top, plot_width, plot_height);
    for (const auto& s : slopes_) {
        if (!drawable(s.x, s.y)) continue;
        // log y = log s.y + slope (log x - log s.x), at the two ends of the x range.
        const auto y_at = [&](double log_x) {
            return std::pow(10.0, std::log10(s.y) + s.slope * (log_x - std::log10(s.x)));
        };
        out += fmt::format(
            "<line class=\"slope\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
            "stroke-dasharray=\"6 4\"/>\n",
            left, py(y_at(xr.lo)), left + plot_width, py(y_at(xr.hi)), s.color);
    }
    for (const auto& v : verticals_) {
        if (!drawable(v.x, 1)) continue;
        out += fmt::format(
            "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"{3}\" "
            "stroke-dasharray=\"2 3\"/>\n",
            px(v.x), top, top + plot_height, v.color);
    }
    for (const auto& s : series_) {
        std::string path;
        bool pen_down = false;
        for (const auto& [x, y] : s.points) {
            if (!drawable(x, y)) {
                pen_down = false;
                continue;
            }
            path += fmt::format("{}{:.1f} {:.1f} ", pen_down ? "L" : "M", px(x), py(y));
            pen_down = true;
        }
        if (path.empty()) continue;
        out += fmt::format("<path class=\"series\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>\n", path,
                           s.color);
        for (const auto& [x, y] : s.points) {
            if (drawable(x, y)) {
                out +=
                    fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>", px(x), py(y), s.color);
            }
        }
        out += '\n';
    }
    out += "</svg>\n";

    // The legend, right of the plot.
    double y = top + 10;
    const auto legend = [&](const std::string& name, const std::string& color, const char* dash) {
        out += fmt::format(
            "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"1.5\"{4}/>"
            "<text x=\"{5}\" y=\"{6}\" class=\"legend\">{7}</text>\n",
            left + plot_width + 10, y, left + plot_width + 30, color, dash, left + plot_width + 35, y + 4,
            escaped(name));
        y += 18;
    };
    for (const auto& s : series_) legend(s.name, s.color, "");
    for (const auto& s : slopes_) legend(s.name, s.color, " stroke-dasharray=\"6 4\"");
    for (const auto& v : verticals_) legend(v.name, v.color, " stroke-dasharray=\"2 3\"");
    out += "</svg>\n";
    return out;
}

}  // namespace xtape::tool
