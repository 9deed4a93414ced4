// `xtape-gradcheck list`: every loss with its inputs, the shape of its sample_weight, options and defaults.
#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "arguments.hpp"
#include "commands.hpp"
#include "evaluation.hpp"
#include "tool_errors.hpp"
#include "xtape/losses/registry.hpp"

namespace xtape::tool {

namespace {

const char* type_name(OptionType type) {
    switch (type) {
        case OptionType::Bool:
            return "bool";
        case OptionType::Int:
            return "int";
        case OptionType::Real:
            return "real";
        case OptionType::OptionalReal:
            return "real or None";
        case OptionType::String:
            return "string";
    }
    return "";
}

// Every shape made from `shape`'s axes, each kept, set to 1 or dropped.
std::vector<Shape> shapes_from_axes(const Shape& shape) {
    std::vector<Shape> shapes{Shape{}};
    for (const std::size_t size : shape) {
        std::vector<Shape> longer;
        for (const Shape& s : shapes) {
            longer.push_back(s);
            for (const std::size_t d : {size, std::size_t(1)}) {
                Shape t = s;
                t.push_back(d);
                longer.push_back(t);
            }
        }
        shapes = std::move(longer);
    }
    return shapes;
}

// The shape sample_weight must broadcast to, for a pred of `pred_shape` and the
// default options, as the loss itself decides: of the shapes made from pred's
// axes, the largest (most elements, then most axes) it accepts as a sample_weight.
std::optional<Shape> sample_weight_shape(const LossInfo& loss, const Shape& pred_shape) {
    ArrayMap<double> inputs;
    for (auto& [name, array] : loss.sample({}, pred_shape, 0)) {
        const auto spec =
            std::find_if(loss.inputs.begin(), loss.inputs.end(), [&](const InputSpec& s) { return s.name == name; });
        if (spec != loss.inputs.end() && spec->required) inputs.emplace(name, std::move(array));
    }
    std::optional<Shape> best;
    for (const Shape& candidate : shapes_from_axes(pred_shape)) {
        const auto larger = [&](const Shape& than) {
            const std::size_t a = element_count(candidate), b = element_count(than);
            return a > b || (a == b && candidate.size() > than.size());
        };
        if (best && !larger(*best)) continue;
        ArrayMap<double> with_weight = inputs;
        with_weight.emplace("sample_weight", xt::ones<double>(candidate));
        try {
            evaluate(loss, {}, with_weight);
            best = candidate;
        } catch (const ShapeError&) {
        }
    }
    return best;
}

}  // namespace

int run_list() {
    for (const auto& loss : loss_registry()) {
        std::string aliases;
        for (const auto& alias : loss.aliases) aliases += (aliases.empty() ? " (alias " : ", ") + alias;
        if (!aliases.empty()) aliases += ")";
        fmt::print("{}{}: {}\n  inputs:\n", loss.name, aliases, loss.summary);
        for (const auto& in : loss.inputs) {
            fmt::print("    {:<14} {}{} {}\n", in.name, in.required ? "required" : "optional",
                       in.differentiable ? "" : ", no gradient", in.doc.empty() ? "" : "- " + in.doc);
        }
        const bool weighted = std::any_of(loss.inputs.begin(), loss.inputs.end(),
                                          [](const InputSpec& s) { return s.name == "sample_weight"; });
        if (weighted) {
            std::vector<std::string> cases;
            for (const Shape& shape : loss.check_shapes) {
                const std::optional<Shape> weight = sample_weight_shape(loss, shape);
                cases.push_back(fmt::format("{} for {} {}", weight ? to_string(*weight) : "none found",
                                            shape_input(loss), to_string(shape)));
            }
            fmt::print("  sample_weight must broadcast to (default options): {}\n", fmt::join(cases, "; "));
        }
        fmt::print("  options:\n");
        for (const auto& o : loss.options) {
            std::string choices;
            for (const auto& c : o.choices) choices += (choices.empty() ? " {" : "|") + c;
            if (!choices.empty()) choices += "}";
            fmt::print("    {}={} ({}{}) {}\n", o.name, o.default_value, type_name(o.type), choices,
                       o.doc.empty() ? "" : "- " + o.doc);
        }
    }
    return exit_passed;
}

}  // namespace xtape::tool
