// The subcommands of xtape-gradcheck: what each takes and what it returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xtape/gradcheck.hpp"

namespace xtape::tool {

/// `check [LOSS...] [--order 1|2] [--opt NAME=VALUE]... [--shape S] [--in NAME=FILE.npy]... [--seed N]
/// [--dtype D] [--eps E] [--atol A] [--rtol R] [--fast] [--json] [--report FILE.html]`:
/// the grid of configurations of each loss (or the one at the user's arrays)
/// at each order, and a Taylor test per loss.
struct CheckCommand {
    std::vector<std::string> losses;  // empty: every loss of the registry
    std::optional<int> order;         // empty: orders 1 and 2 (1 alone with --dtype float32)
    std::vector<std::string> options;
    std::string shape;                // empty: the registry's check shapes
    std::vector<std::string> inputs;  // NAME=FILE.npy; only with one loss
    std::optional<std::uint64_t> seed;
    std::string dtype = "float64";
    GradcheckOptions gradcheck;
    TaylorOptions taylor;
    bool json = false;
    std::string report;  // the HTML report to write, or empty
};

/// `taylor [LOSS...] [--order 1|2] [--opt NAME=VALUE]... [--shape S] [--in NAME=FILE.npy]... [--seed N]
/// [--eps0 E] [--steps K] [--json]`: the Taylor test alone, with every step printed:
/// R0, R1 and, at order 2, R2.
struct TaylorCommand {
    int order = 2;
    std::vector<std::string> losses;  // empty: every loss of the registry
    std::vector<std::string> options;
    std::string shape;
    std::vector<std::string> inputs;
    std::optional<std::uint64_t> seed;
    TaylorOptions taylor;
    bool json = false;
};

/// `eval LOSS [--opt NAME=VALUE]... [--dtype D] --in NAME=FILE.npy... [--hvp NAME=FILE.npy]... --out DIR`
struct EvalCommand {
    std::string loss;
    std::vector<std::string> options;
    std::string dtype = "float64";
    std::vector<std::string> inputs;
    std::vector<std::string> directions;  // NAME=FILE.npy: blocks of v for H v
    std::string out;
};

/// `graph LOSS [--opt NAME=VALUE]... [--shape S] --out FILE.dot`
struct GraphCommand {
    std::string loss;
    std::vector<std::string> options;
    std::string shape;
    std::string out;
    bool expand = false;  // as plain primitives (Execution::eager)
};

/// Each returns the exit status (0, or 1 when a check failed) and throws
/// UsageError or DataError (tool_errors.hpp) for the other outcomes.
int run_check(const CheckCommand& command);
int run_taylor(const TaylorCommand& command);
int run_eval(const EvalCommand& command);
int run_list();
int run_graph(const GraphCommand& command);

}  // namespace xtape::tool
