// Log-log plots written as inline SVG: the report's pictures, with no library and no script.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace xtape::tool {

/// A log-log plot: series of points joined by lines, reference lines of a given
/// slope, vertical markers, decade ticks and a legend, as one <svg> element.
class LogLogPlot {
public:
    LogLogPlot(std::string title, std::string x_label, std::string y_label);

    /// Points (x, y) joined by a line, with a marker at each; points whose x or y
    /// is not positive and finite are left out (and break the line).
    void add_series(std::string name, std::vector<std::pair<double, double>> points, std::string color);
    /// A dashed line of `slope` through (x, y), across the plot.
    void add_slope(std::string name, double slope, double x, double y, std::string color);
    /// A dotted vertical line at x.
    void add_vertical(std::string name, double x, std::string color);

    /// The <svg> element, with class `css_class`; its axes span the decades
    /// around every drawn point (series points, marker positions, the level of
    /// a line of slope 0).
    std::string svg(const std::string& css_class) const;

private:
    struct Series {
        std::string name;
        std::vector<std::pair<double, double>> points;
        std::string color;
    };
    struct Slope {
        std::string name;
        double slope, x, y;
        std::string color;
    };
    struct Vertical {
        std::string name;
        double x;
        std::string color;
    };

    std::string title_, x_label_, y_label_;
    std::vector<Series> series_;
    std::vector<Slope> slopes_;
    std::vector<Vertical> verticals_;
};

/// `text` with &, <, > and " escaped, for HTML and SVG text and attributes.
std::string escaped(const std::string& text);

}  // namespace xtape::tool
