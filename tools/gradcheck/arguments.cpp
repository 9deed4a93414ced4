// Turning the text of the command line into losses, options, shapes and input files.
#include "arguments.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

#include "tool_errors.hpp"
#include "xtape/io/npy.hpp"

namespace xtape::tool {

std::pair<std::string, std::string> split_assignment(const std::string& text, const char* flag) {
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
        throw UsageError(fmt::format("{} '{}': expected NAME=VALUE", flag, text));
    }
    return {text.substr(0, eq), text.substr(eq + 1)};
}

const LossInfo& loss_named(const std::string& name) {
    try {
        return find_loss(name);
    } catch (const ValueError& e) {
        throw UsageError(e.what());
    }
}

OptionMap parse_options(const LossInfo& loss, const std::vector<std::string>& assignments) {
    OptionMap options;
    for (const auto& text : assignments) {
        auto [name, value] = split_assignment(text, "--opt");
        options[name] = value;
    }
    // The registry parses options in one place; building the loss's repr runs
    // that parser (and the loss's own option checks) without any data.
    try {
        loss.repr(options);
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    return options;
}

std::string naming_loss(const LossInfo& loss, const std::string& message) {
    if (message.find(loss.name) != std::string::npos) return message;
    return loss.name + ": " + message;
}

std::map<std::string, std::string> input_files(const LossInfo& loss, const std::vector<std::string>& assignments,
                                               const char* flag) {
    std::map<std::string, std::string> files;
    for (const auto& text : assignments) {
        auto [name, file] = split_assignment(text, flag);
        const bool known = std::any_of(loss.inputs.begin(), loss.inputs.end(),
                                       [&name = name](const InputSpec& s) { return s.name == name; });
        if (!known) {
            std::string names;
            for (const auto& s : loss.inputs) names += (names.empty() ? "" : ", ") + s.name;
            throw UsageError(
                fmt::format("{} {}: {} has no input '{}' (inputs: {})", flag, text, loss.name, name, names));
        }
        if (!files.emplace(name, file).second) {
            throw UsageError(fmt::format("{} {}: input '{}' given twice", flag, text, name));
        }
    }
    return files;
}

template <class T>
ArrayMap<T> read_inputs(const std::map<std::string, std::string>& files) {
    ArrayMap<T> inputs;
    for (const auto& [name, file] : files) {
        try {
            inputs[name] = read_npy<T>(file).array;
        } catch (const NpyError& e) {
            throw DataError(e.what());
        }
    }
    return inputs;
}

template ArrayMap<float> read_inputs(const std::map<std::string, std::string>&);
template ArrayMap<double> read_inputs(const std::map<std::string, std::string>&);

std::string shape_input(const LossInfo& loss) {
    const Shape& shape = loss.check_shapes.at(0);
    const ArrayMap<double> sample = loss.sample({}, shape, 0);
    for (const auto& spec : loss.inputs) {
        const auto it = sample.find(spec.name);
        if (it != sample.end() && it->second.shape() == shape) return spec.name;
    }
    throw std::logic_error(fmt::format("{}: no sampled input has the check shape {}", loss.name, to_string(shape)));
}

std::vector<std::pair<const LossInfo*, GridRequest>> loss_requests(const std::vector<std::string>& names,
                                                                   const std::vector<std::string>& options,
                                                                   const std::string& shape,
                                                                   const std::vector<std::string>& inputs,
                                                                   std::optional<std::uint64_t> seed) {
    std::vector<const LossInfo*> losses;
    if (names.empty()) {
        for (const auto& loss : loss_registry()) losses.push_back(&loss);
    } else {
        for (const auto& name : names) losses.push_back(&loss_named(name));
    }
    if (!inputs.empty() && losses.size() != 1) {
        throw UsageError(
            fmt::format("--in names the inputs of one loss: name exactly one loss, not {}", losses.size()));
    }
    const std::optional<Shape> parsed_shape = shape.empty() ? std::nullopt : std::optional<Shape>(parse_shape(shape));
    std::vector<std::pair<const LossInfo*, GridRequest>> requests;
    for (const LossInfo* loss : losses) {
        GridRequest request{parse_options(*loss, options), parsed_shape, seed,
                            std::make_shared<const ArrayMap<double>>(read_inputs<double>(input_files(*loss, inputs)))};
        const auto pred = request.given->find(shape_input(*loss));
        if (parsed_shape && pred != request.given->end() && pred->second.shape() != *parsed_shape) {
            throw UsageError(fmt::format("--shape {} is not the shape {} of the given {}", to_string(*parsed_shape),
                                         to_string(pred->second.shape()), pred->first));
        }
        requests.emplace_back(loss, std::move(request));
    }
    return requests;
}

Shape parse_shape(const std::string& text) {
    Shape shape;
    std::size_t elements = 1;
    const char* p = text.data();
    const char* end = text.data() + text.size();
    while (true) {
        std::size_t size = 0;
        const auto [next, error] = std::from_chars(p, end, size);
        if (error != std::errc() || next == p || size == 0 || size > max_elements / elements) {
            throw UsageError(
                fmt::format("--shape '{}': expected sizes >= 1 separated by commas, at most {} "
                            "elements in all (e.g. 4,10)",
                            text, max_elements));
        }
        elements *= size;
        shape.push_back(size);
        if (shape.size() > max_rank) throw UsageError(fmt::format("--shape '{}': more than {} axes", text, max_rank));
        p = next;
        if (p == end) return shape;
        if (*p != ',') throw UsageError(fmt::format("--shape '{}': unexpected '{}'", text, *p));
        ++p;
    }
}

}  // namespace xtape::tool
