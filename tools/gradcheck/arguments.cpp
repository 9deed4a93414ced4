// Turning the text of the command line into losses, options, shapes and input files.
#include "arguments.hpp"

#include <charconv>

#include <fmt/format.h>

#include "tool_errors.hpp"

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

Shape parse_shape(const std::string& text) {
    Shape shape;
    std::size_t elements = 1;
    const char* p = text.data();
    const char* end = text.data() + text.size();
    while (true) {
        std::size_t size = 0;
        const auto [next, error] = std::from_chars(p, end, size);
        if (error != std::errc() || next == p || size == 0 || size > max_elements / elements) {
            throw UsageError(fmt::format("--shape '{}': expected sizes >= 1 separated by commas, at most {} "
                                         "elements in all (e.g. 4,10)", text, max_elements));
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
