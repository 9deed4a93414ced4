// The DOT export of a recorded graph: which nodes and edges appear, and how they are drawn.
#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <sstream>
#include <utility>

#include "xtape/graph.hpp"
#include "xtape/xtape.hpp"

using namespace xtape;

namespace {

// The node lines (id -> attribute text) and edges (from, to) of a DOT graph.
struct ParsedDot {
    std::map<int, std::string> nodes;
    std::multiset<std::pair<int, int>> edges;
};

ParsedDot parse_dot(const std::string& dot) {
    ParsedDot parsed;
    const std::regex node(R"(^  n(\d+) \[(.*)\];$)");
    const std::regex edge(R"(^  n(\d+) -> n(\d+)( \[.*\])?;$)");
    std::istringstream lines(dot);
    std::string line;
    std::smatch m;
    while (std::getline(lines, line)) {
        if (std::regex_match(line, m, edge)) {
            parsed.edges.emplace(std::stoi(m[1]), std::stoi(m[2]));
        } else if (std::regex_match(line, m, node)) {
            parsed.nodes[std::stoi(m[1])] = m[2];
        }
    }
    return parsed;
}

}  // namespace

TEST_CASE_TEMPLATE("to_dot shows exactly the nodes that lead to the root, with their edges", T, float, double) {
    Tape<T> tape;
    auto x = tape.leaf(xt::xarray<T>{{1, 2, 3}, {4, 5, 6}});  // n0
    auto k = tape.constant(xt::xarray<T>{2, 2, 2});          // n1
    auto unused = exp(x);                                    // n2: does not lead to the root
    auto folded = exp(k);                                    // n3: from a constant only
    auto e = log(add(x, folded));                            // n4 add, n5 log
    auto m = mul(e, k);                                      // n6
    auto root = sum(add(m, x));                              // n7 add, n8 sum
    (void)unused;

    const std::string dot = to_dot(tape, root);
    CHECK(dot.rfind("digraph xtape {\n", 0) == 0);
    CHECK(dot.substr(dot.size() - 2) == "}\n");

    const ParsedDot g = parse_dot(dot);
    CHECK(g.nodes.size() == 8);
    CHECK(g.nodes.count(2) == 0);
    const std::multiset<std::pair<int, int>> expected_edges = {{0, 4}, {3, 4}, {4, 5}, {5, 6}, {1, 6},
                                                               {6, 7}, {0, 7}, {7, 8}};
    CHECK(g.edges == expected_edges);

    CHECK(g.nodes.at(0).find("label=\"leaf\\n(2, 3)\"") != std::string::npos);
    CHECK(g.nodes.at(0).find("filled") != std::string::npos);
    CHECK(g.nodes.at(1).find("label=\"constant\\n(3,)\"") != std::string::npos);
    CHECK(g.nodes.at(1).find("shape=box, style=dashed") != std::string::npos);
    CHECK(g.nodes.at(3).find("shape=ellipse, style=dashed") != std::string::npos);
    CHECK(g.nodes.at(5).find("label=\"log\\n(2, 3)\"") != std::string::npos);
    CHECK(g.nodes.at(5).find("dashed") == std::string::npos);
    CHECK(g.nodes.at(8).find("label=\"sum\\n()\"") != std::string::npos);
    CHECK(g.nodes.at(8).find("penwidth") != std::string::npos);
    CHECK(g.nodes.at(6).find("penwidth") == std::string::npos);
    // Binary ops label their edges with the argument position.
    CHECK(dot.find("n1 -> n6 [label=\"1\"]") != std::string::npos);
    CHECK(dot.find("n5 -> n6 [label=\"0\"]") != std::string::npos);
}

TEST_CASE("a variable used twice gives two edges, and a leaf root is a graph of one node") {
    Tape<double> tape;
    auto x = tape.leaf(xt::xarray<double>{3});
    auto y = mul(x, x);
    const ParsedDot g = parse_dot(to_dot(tape, y));
    CHECK(g.edges.count({0, 1}) == 2);
    const ParsedDot single = parse_dot(to_dot(tape, x));
    CHECK(single.nodes.size() == 1);
    CHECK(single.edges.empty());
}

TEST_CASE("to_dot refuses a stale root or one of another tape") {
    Tape<double> a, b;
    auto x = a.leaf(xt::xarray<double>{1});
    CHECK_THROWS_AS(to_dot(b, x), TapeError);
    a.clear();
    CHECK_THROWS_AS(to_dot(a, x), TapeError);
}

TEST_CASE("to_dot names nodes, and draws a fused node as a cluster of its primitives") {
    Tape<double> tape;
    const auto pred = tape.leaf(xt::xarray<double>{{1, 2}, {3, 4}});
    const auto label = tape.constant(xt::xarray<double>{{0, 1}, {1, 0}});
    tape.set_name(pred, "pred");
    tape.set_name(label, "label");
    const Var<double> loss = HuberLoss<double>()(pred, label);
    const std::string dot = to_dot(tape, loss);
    CHECK(dot.find("label=\"pred\\nleaf\\n(2, 2)\"") != std::string::npos);
    CHECK(dot.find("label=\"label\\nconstant\\n(2, 2)\"") != std::string::npos);
    // The fused node's cluster holds sub and smooth_l1; pred and label feed sub
    // as operands 0 and 1, smooth_l1 reads sub, and the node takes smooth_l1's values.
    CHECK(dot.find("subgraph cluster_n2 {") != std::string::npos);
    CHECK(dot.find("n2s0 [label=\"sub\"") != std::string::npos);
    CHECK(dot.find("n2s1 [label=\"smooth_l1\"") != std::string::npos);
    CHECK(dot.find("n0 -> n2s0 [label=\"0\"]") != std::string::npos);
    CHECK(dot.find("n1 -> n2s0 [label=\"1\"]") != std::string::npos);
    CHECK(dot.find("n2s0 -> n2s1;") != std::string::npos);
    CHECK(dot.find("n2s1 -> n2;") != std::string::npos);
    // Names go with clear().
    tape.clear();
    const auto other = tape.leaf(xt::xarray<double>{1});
    CHECK(tape.name_of(other.index()) == nullptr);
}
