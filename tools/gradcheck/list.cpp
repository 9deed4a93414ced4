// `xtape-gradcheck list`: every loss with its inputs, options and defaults.
#include <fmt/format.h>

#include "commands.hpp"
#include "tool_errors.hpp"
#include "xtape/losses/registry.hpp"

namespace xtape::tool {

namespace {

const char* type_name(OptionType type) {
    switch (type) {
        case OptionType::Bool: return "bool";
        case OptionType::Int: return "int";
        case OptionType::Real: return "real";
        case OptionType::OptionalReal: return "real or None";
        case OptionType::String: return "string";
    }
    return "";
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
