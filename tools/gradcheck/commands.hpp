// The subcommands of xtape-gradcheck: what each takes and what it returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xtape/gradcheck.hpp"

namespace xtape::tool {

/// `check [LOSS...] [--opt NAME=VALUE]... [--shape S] [--seed N] [--dtype D]
/// [--eps E] [--atol A] [--rtol R] [--fast] [--json]`
struct CheckCommand {
    std::vector<std::string> losses;  // empty: every loss of the registry
    std::vector<std::string> options;
    std::string shape;  // empty: the registry's check shapes
    std::optional<std::uint64_t> seed;
    std::string dtype = "float64";
    GradcheckOptions gradcheck;
    bool json = false;
};

/// `eval LOSS [--opt NAME=VALUE]... [--dtype D] --in NAME=FILE.npy... --out DIR`
struct EvalCommand {
    std::string loss;
    std::vector<std::string> options;
    std::string dtype = "float64";
    std::vector<std::string> inputs;
    std::string out;
};

/// `graph LOSS [--opt NAME=VALUE]... [--shape S] --out FILE.dot`
struct GraphCommand {
    std::string loss;
    std::vector<std::string> options;
    std::string shape;
    std::string out;
};

/// Each returns the exit status (0, or 1 when a check failed) and throws
/// UsageError or DataError (tool_errors.hpp) for the other outcomes.
int run_check(const CheckCommand& command);
int run_eval(const EvalCommand& command);
int run_list();
int run_graph(const GraphCommand& command);

}  // namespace xtape::tool
