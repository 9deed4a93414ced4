// Rendering the graph recorded on a tape as Graphviz DOT.
#include "xtape/graph.hpp"

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
        dot += fmt::format("  n{} [label=\"{}\\n{}\", {}];\n", i, escaped(op), to_string(tape.value_of(i).shape()),
                           style);
    }
    for (std::uint32_t i = 0; i <= last; ++i) {
        if (!reaches_root[i]) continue;
        const auto inputs = tape.inputs_of(i);
        for (std::size_t k = 0; k < inputs.size(); ++k) {
            if (inputs.size() > 1) {
                dot += fmt::format("  n{} -> n{} [label=\"{}\"];\n", inputs[k], i, k);
            } else {
                dot += fmt::format("  n{} -> n{};\n", inputs[k], i);
            }
        }
    }
    dot += "}\n";
    return dot;
}

template std::string to_dot<float>(const Tape<float>&, const Var<float>&);
template std::string to_dot<double>(const Tape<double>&, const Var<double>&);

}  // namespace xtape
