// Rendering the graph recorded on a tape as Graphviz DOT.
#pragma once

#include <string>

#include "xtape/tape.hpp"

namespace xtape {

/// The nodes that lead to `root` (root included), as a Graphviz `digraph`: one
/// node per recorded primitive, labelled with its name (Tape::set_name), op
/// name and value shape, and one edge from each input to the node that uses it
/// (labelled with the input's position when a node has several). A fused node
/// is a cluster of the primitives it runs (Tape::set_composition), its inputs
/// wired to the primitives that read them. Leaves are filled boxes, constants
/// dashed boxes, nodes computed from constants only (which keep no inputs)
/// dashed ellipses, and the root is drawn bold. Render with `dot -Tsvg`.
/// Throws TapeError when `root` is not a live variable of `tape`.
template <class T>
std::string to_dot(const Tape<T>& tape, const Var<T>& root);

}  // namespace xtape
