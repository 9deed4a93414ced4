// Rendering the graph recorded on a tape as Graphviz DOT.
#include "xtape/graph.hpp"

#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace xtape {

namespace {

// Op names are string literals of xtape or of a custom op: escape what DOT
// would misread inside a quoted label.
std::string escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

}  // namespace

template <class T>
std::string to_dot(const Tape<T>& tape, const Var<T>& root) {
    tape.check(root, "to_dot");
    // Inputs always precede their users on the tape, so one sweep downwards from
    // the root marks every node that leads to it.
    const std::uint32_t last = root.index();
    std::vector<bool> reaches_root(last + 1, false);
    reaches_root[last] = true;
    for (std::uint32_t i = last + 1; i-- > 0;) {
        if (!reaches_root[i]) continue;
        for (std::uint32_t input : tape.inputs_of(i)) reaches_root[input] = true;
    }

    std::string dot = "digraph xtape {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
    for (std::uint32_t i = 0; i <= last; ++i) {
        if (!reaches_root[i]) continue;
        const std::string_view op = tape.op_of(i);
        std::string style;
        if (op == "leaf") {
            style = "shape=box, style=filled, fillcolor=\"#cfe2f3\"";
        } else if (op == "constant") {
            style = "shape=box, style=dashed";
        } else if (tape.inputs_of(i).empty()) {
            style = "shape=ellipse, style=dashed";
        } else {
            style = "shape=ellipse";
        }
        if (i == last) style += ", penwidth=2";
        const std::string* name = tape.name_of(i);
        const std::string label = fmt::format("{}{}\\n{}", name ? escaped(*name) + "\\n" : "", escaped(op),
                                              to_string(tape.value_of(i).shape()));
        const auto inputs = tape.inputs_of(i);
        const std::optional<Composition> composition = inputs.empty() ? std::nullopt : tape.composition_of(i);
        if (!composition) {
            dot += fmt::format("  n{} [label=\"{}\", {}];\n", i, label, style);
            for (std::size_t k = 0; k < inputs.size(); ++k) {
                const std::string position = inputs.size() > 1 ? fmt::format(" [label=\"{}\"]", k) : "";
                dot += fmt::format("  n{} -> n{}{};\n", inputs[k], i, position);
            }
            continue;
        }
        // A fused node: a cluster of its primitives, each input wired to the steps that read it.
        dot += fmt::format("  subgraph cluster_n{} {{\n    style=rounded; color=\"#999999\"; label=\"{}\";\n", i,
                           escaped(op));
        const auto step_id = [&](std::uint32_t operand) {
            return operand < composition->inputs ? fmt::format("n{}", inputs[operand])
                                                 : fmt::format("n{}s{}", i, operand - composition->inputs);
        };
        for (std::size_t j = 0; j < composition->steps.size(); ++j) {
            dot += fmt::format("    n{}s{} [label=\"{}\", shape=ellipse, fontsize=9];\n", i, j,
                               escaped(composition->steps[j].op));
        }
        dot += fmt::format("    n{} [label=\"{}\", {}];\n  }}\n", i, label, style);
        for (std::size_t j = 0; j < composition->steps.size(); ++j) {
            const auto& operands = composition->steps[j].operands;
            for (std::size_t k = 0; k < operands.size(); ++k) {
                const std::string position = operands.size() > 1 ? fmt::format(" [label=\"{}\"]", k) : "";
                dot += fmt::format("  {} -> n{}s{}{};\n", step_id(operands[k]), i, j, position);
            }
        }
        dot += fmt::format("  {} -> n{};\n", step_id(composition->output), i);
    }
    dot += "}\n";
    return dot;
}

template std::string to_dot<float>(const Tape<float>&, const Var<float>&);
template std::string to_dot<double>(const Tape<double>&, const Var<double>&);

}  // namespace xtape
