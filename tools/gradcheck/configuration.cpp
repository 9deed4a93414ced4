// One configuration of the gradient check, and the grid of them for a loss.
#include "configuration.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "arguments.hpp"

namespace xtape::tool {

namespace {

bool has_input(const LossInfo& loss, const std::string& name) {
    return std::any_of(loss.inputs.begin(), loss.inputs.end(), [&](const InputSpec& s) { return s.name == name; });
}

// The inputs in the loss's order: the required ones and those in `extra`.
std::vector<std::string> inputs_with(const LossInfo& loss, const std::vector<std::string>& extra) {
    std::vector<std::string> names;
    for (const auto& spec : loss.inputs) {
        if (spec.required || std::find(extra.begin(), extra.end(), spec.name) != extra.end()) {
            names.push_back(spec.name);
        }
    }
    return names;
}

std::vector<std::string> optional_inputs(const LossInfo& loss) {
    std::vector<std::string> names;
    for (const auto& spec : loss.inputs) {
        if (!spec.required) names.push_back(spec.name);
    }
    return names;
}

// Whether batch_axis = `text` names an axis of a pred of rank `rank`.
bool axis_fits(const std::string& text, std::size_t rank) {
    long axis = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), axis);
    if (error != std::errc() || end != text.data() + text.size()) return true;  // the loss will say
    const long r = static_cast<long>(rank);
    return axis >= -r && axis < r;
}

bool same(const Configuration& a, const Configuration& b) {
    return a.options == b.options && a.pred_shape == b.pred_shape && a.inputs == b.inputs && a.seed == b.seed;
}

std::vector<std::string> names_of(const ArrayMap<double>& arrays) {
    std::vector<std::string> names;
    for (const auto& [name, array] : arrays) names.push_back(name);
    return names;
}

// The pred shape: that of the given array of the loss's shape input, else the requested or first check shape.
Shape shape_of(const LossInfo& loss, const GridRequest& request) {
    const auto given = request.given->find(shape_input(loss));
    if (given != request.given->end()) return given->second.shape();
    return request.shape ? *request.shape : loss.check_shapes.at(0);
}

// Whether the loss accepts these options (its constructor's checks included).
bool accepts(const LossInfo& loss, const OptionMap& options) {
    try {
        loss.repr(options);
        return true;
    } catch (const std::invalid_argument&) {
        return false;
    }
}

}  // namespace

std::string describe(const Configuration& c) {
    std::string text = fmt::format("{} seed={}", to_string(c.pred_shape), c.seed);
    for (const auto& [name, value] : c.options) text += fmt::format(" {}={}", name, value);
    if (!c.given->empty()) text += fmt::format(" given={}", fmt::join(names_of(*c.given), ","));
    return text;
}

Configuration taylor_configuration(const LossInfo& loss, const GridRequest& request) {
    const std::vector<std::string> extra = request.given->empty() ? optional_inputs(loss) : names_of(*request.given);
    return {request.fixed_options, shape_of(loss, request), inputs_with(loss, extra), request.seed.value_or(0),
            request.given};
}

std::vector<Configuration> configuration_grid(const LossInfo& loss, const GridRequest& request) {
    if (!request.given->empty()) {
        return {{request.fixed_options, shape_of(loss, request), inputs_with(loss, names_of(*request.given)),
                 request.seed.value_or(0), request.given}};
    }
    const std::vector<Shape> shapes = request.shape ? std::vector<Shape>{*request.shape} : loss.check_shapes;
    const std::vector<std::uint64_t> seeds =
        request.seed ? std::vector<std::uint64_t>{*request.seed} : std::vector<std::uint64_t>{0, 1};
    if (shapes.empty()) return {};
    const OptionMap& fixed = request.fixed_options;
    const bool weighted = has_input(loss, "sample_weight");
    const std::vector<std::string> with_weight =
        inputs_with(loss, weighted ? std::vector<std::string>{"sample_weight"} : std::vector<std::string>{});

    std::vector<Configuration> grid;
    // Variants are not filtered by whether the loss accepts them: a grid value
    // the loss rejects is a bug of the registry, and the check reports it. The
    // one exception is a grid value that conflicts with the user's fixed options
    // (ignore_index fixed, sparse_label=false varied): it is left out.
    // Every configuration runs once per seed.
    const auto add = [&](Configuration c) {
        for (std::uint64_t seed : seeds) {
            c.seed = seed;
            if (std::none_of(grid.begin(), grid.end(), [&](const Configuration& g) { return same(g, c); })) {
                grid.push_back(c);
            }
        }
    };

    for (const Shape& shape : shapes) {
        add({fixed, shape, inputs_with(loss, {}), 0, request.given});
        add({fixed, shape, with_weight, 0, request.given});
        OptionMap weighting = fixed;
        for (const auto& spec : loss.options) {
            if (spec.name != "weight" || fixed.count("weight")) continue;
            for (const auto& value : spec.grid) {
                if (value != spec.default_value) {
                    weighting["weight"] = value;
                    break;
                }
            }
        }
        add({weighting, shape, inputs_with(loss, optional_inputs(loss)), 0, request.given});
    }
    for (const auto& name : optional_inputs(loss)) {
        if (name != "sample_weight") add({fixed, shapes.front(), inputs_with(loss, {name}), 0, request.given});
    }
    for (const auto& spec : loss.options) {
        if (fixed.count(spec.name)) continue;
        for (const auto& value : spec.grid) {
            if (value == spec.default_value) continue;
            OptionMap options = fixed;
            options[spec.name] = value;
            if (!accepts(loss, options) && accepts(loss, {{spec.name, value}})) continue;
            if (spec.name == "batch_axis") {
                for (const Shape& shape : shapes) {
                    if (axis_fits(value, shape.size())) add({options, shape, with_weight, 0, request.given});
                }
            } else {
                add({options, shapes.front(), with_weight, 0, request.given});
            }
        }
    }
    return grid;
}

}  // namespace xtape::tool
