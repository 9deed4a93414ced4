// `xtape-gradcheck eval`: the loss and its gradients on the user's .npy arrays, written as .npy.
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "arguments.hpp"
#include "commands.hpp"
#include "evaluation.hpp"
#include "tool_errors.hpp"
#include "xtape/io/npy.hpp"

namespace xtape::tool {

namespace {

template <class T>
void write(const std::filesystem::path& path, const xt::xarray<T>& array) {
    try {
        write_npy(path, array);
    } catch (const NpyError& e) {
        throw DataError(e.what());
    }
}

template <class T>
int evaluate_and_write(const LossInfo& loss, const OptionMap& options, const std::map<std::string, std::string>& files,
                       const std::filesystem::path& out) {
    const ArrayMap<T> inputs = read_inputs<T>(files);
    Evaluation<T> result;
    try {
        result = evaluate(loss, options, inputs);
    } catch (const Error& e) {
        throw DataError(naming_loss(loss, e.what()));
    }
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) throw DataError(fmt::format("{}: cannot create the output directory: {}", out.string(), ec.message()));
    std::vector<std::string> written{(out / "loss.npy").string()};
    write(written.back(), result.output);
    for (const auto& [name, gradient] : result.gradients) {
        written.push_back((out / fmt::format("grad_{}.npy", name)).string());
        write(written.back(), gradient);
    }
    // Summed in double whatever T is, so that the line compares with another framework's sum.
    double sum = 0;
    for (const T v : result.output) sum += static_cast<double>(v);
    fmt::print("wrote {}; sum of the loss {}\n", fmt::join(written, ", "), sum);
    return exit_passed;
}

}  // namespace

int run_eval(const EvalCommand& command) {
    const LossInfo& loss = loss_named(command.loss);
    const OptionMap options = parse_options(loss, command.options);
    const auto files = input_files(loss, command.inputs);
    if (command.dtype == "float32") return evaluate_and_write<float>(loss, options, files, command.out);
    return evaluate_and_write<double>(loss, options, files, command.out);
}

}  // namespace xtape::tool
