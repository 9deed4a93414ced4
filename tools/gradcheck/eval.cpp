// `xtape-gradcheck eval`: the loss, its gradients and Hessian-vector products on the user's .npy arrays,
// written as .npy.
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

// The files of the --hvp directions: each names an input the loss differentiates with
// these options and that --in gives (UsageError otherwise).
std::map<std::string, std::string> direction_files(const LossInfo& loss, const OptionMap& options,
                                                   const std::map<std::string, std::string>& inputs,
                                                   const std::vector<std::string>& assignments) {
    const auto files = input_files(loss, assignments, "--hvp");
    for (const auto& [name, file] : files) {
        if (!loss.is_differentiable(options, name)) {
            throw UsageError(fmt::format("--hvp {}={}: {} does not differentiate its input '{}' with these options",
                                         name, file, loss.name, name));
        }
        if (!inputs.count(name)) {
            throw UsageError(fmt::format("--hvp {}={}: input '{}' is not given with --in", name, file, name));
        }
    }
    return files;
}

template <class T>
int evaluate_and_write(const LossInfo& loss, const OptionMap& options, const std::map<std::string, std::string>& files,
                       const std::map<std::string, std::string>& direction_files, const std::filesystem::path& out) {
    const ArrayMap<T> inputs = read_inputs<T>(files);
    const ArrayMap<T> directions = read_inputs<T>(direction_files);
    for (const auto& [name, v] : directions) {
        const xt::xarray<T>& x = inputs.at(name);
        if (v.shape() != x.shape()) {
            throw DataError(fmt::format("--hvp {}: the direction {} has shape {}, but input '{}' has shape {}", name,
                                        direction_files.at(name), to_string(v.shape()), name, to_string(x.shape())));
        }
    }
    Evaluation<T> result;
    std::map<std::string, xt::xarray<T>> products;
    try {
        result = evaluate(loss, options, inputs);
        if (!directions.empty()) products = hessian_times(loss, options, inputs, directions);
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
    for (const auto& [name, product] : products) {
        written.push_back((out / fmt::format("hvp_{}.npy", name)).string());
        write(written.back(), product);
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
    const auto directions = direction_files(loss, options, files, command.directions);
    if (command.dtype == "float32") return evaluate_and_write<float>(loss, options, files, directions, command.out);
    return evaluate_and_write<double>(loss, options, files, directions, command.out);
}

}  // namespace xtape::tool
