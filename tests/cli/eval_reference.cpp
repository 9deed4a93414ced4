// The in-process side of the `eval` test: samples a loss's inputs, writes them as
// .npy files for xtape-gradcheck, and writes the loss and gradients it computes
// itself, so that the test can compare the tool's files with these byte for byte.
//
// usage: xtape-eval-reference LOSS float32|float64 SHAPE SEED DIR [NAME=VALUE]...
// writes DIR/in_NAME.npy (differentiable inputs in the dtype, the others as
// int64) and DIR/expected/loss.npy, DIR/expected/grad_NAME.npy.
#include <filesystem>
#include <iostream>

#include "xtape/io/npy.hpp"
#include "xtape/losses/registry.hpp"
#include "xtape/ops.hpp"

using namespace xtape;

namespace {

Shape shape_of(const std::string& text) {
    Shape shape;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        shape.push_back(std::stoul(text.substr(start, comma - start)));
        start = comma + 1;
    }
    return shape;
}

template <class T>
void run(const LossInfo& loss, const OptionMap& options, const ArrayMap<double>& sampled,
         const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir / "expected");
    Tape<T> tape;
    InputMap<T> vars;
    std::map<std::string, Var<T>> leaves;
    for (const auto& [name, array] : sampled) {
        const xt::xarray<T> value = xt::cast<T>(array);
        if (loss.is_differentiable(options, name)) {
            write_npy(dir / ("in_" + name + ".npy"), value);
            vars[name] = leaves[name] = tape.leaf(value);
        } else {
            write_npy(dir / ("in_" + name + ".npy"), array, NpyDtype::Int64);
            vars[name] = tape.constant(value);
        }
    }
    const Var<T> output = loss.apply<T>(options, vars);
    tape.backward(sum(output));
    write_npy(dir / "expected" / "loss.npy", output.value());
    for (const auto& [name, leaf] : leaves) write_npy(dir / "expected" / ("grad_" + name + ".npy"), leaf.grad());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) {
        std::cerr << "usage: xtape-eval-reference LOSS float32|float64 SHAPE SEED DIR [NAME=VALUE]...\n";
        return 2;
    }
    const LossInfo& loss = find_loss(argv[1]);
    const std::string dtype = argv[2];
    OptionMap options;
    for (int i = 6; i < argc; ++i) {
        const std::string assignment = argv[i];
        const std::size_t eq = assignment.find('=');
        options[assignment.substr(0, eq)] = assignment.substr(eq + 1);
    }
    const ArrayMap<double> sampled = loss.sample(options, shape_of(argv[3]), std::stoull(argv[4]));
    if (dtype == "float32") {
        run<float>(loss, options, sampled, argv[5]);
    } else {
        run<double>(loss, options, sampled, argv[5]);
    }
    return 0;
}
