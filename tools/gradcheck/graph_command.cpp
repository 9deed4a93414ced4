// `xtape-gradcheck graph`: the primitives a loss records on the tape, as Graphviz DOT.
#include <fstream>

#include <fmt/format.h>

#include "arguments.hpp"
#include "commands.hpp"
#include "evaluation.hpp"
#include "tool_errors.hpp"
#include "xtape/execution.hpp"
#include "xtape/graph.hpp"

namespace xtape::tool {

int run_graph(const GraphCommand& command) {
    const LossInfo& loss = loss_named(command.loss);
    const OptionMap options = parse_options(loss, command.options);
    if (command.shape.empty() && loss.check_shapes.empty()) {
        throw UsageError(fmt::format("{} has no check shapes: give --shape", loss.name));
    }
    const Shape shape = command.shape.empty() ? loss.check_shapes.front() : parse_shape(command.shape);
    std::string dot;
    try {
        // Every input, optional ones included, so that the whole composition shows.
        const ArrayMap<double> inputs = loss.sample(options, shape, 0);
        Tape<double> tape;
        std::map<std::string, Var<double>> leaves;
        const ExecutionScope execution(command.expand ? Execution::eager : Execution::automatic);
        const Var<double> output = record_loss(tape, loss, options, inputs, leaves);
        dot = to_dot(tape, output);
    } catch (const Error& e) {
        throw DataError(naming_loss(loss, e.what()));
    }
    std::ofstream out(command.out, std::ios::trunc);
    out << dot;
    out.close();
    if (!out) throw DataError(fmt::format("{}: cannot write the graph", command.out));
    return exit_passed;
}

}  // namespace xtape::tool
