// `xtape-gradcheck eval`: the loss and its gradients on the user's .npy arrays, written as .npy.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "arguments.hpp"
#include "commands.hpp"
#include "evaluation.hpp"
#include "tool_errors.hpp"
#include "xtape/io/npy.hpp"

namespace xtape::tool {

namespace {

// The named input files, checked against the loss's input names.
std::map<std::string, std::string> input_files(const LossInfo& loss, const std::vector<std::string>& assignments) {
    std::map<std::string, std::string> files;
    for (const auto& text : assignments) {
        auto [name, file] = split_assignment(text, "--in");
        const bool known = std::any_of(loss.inputs.begin(), loss.inputs.end(),
                                       [&name = name](const InputSpec& s) { return s.name == name; });
        if (!known) {
            std::string names;
            for (const auto& s : loss.inputs) names += (names.empty() ? "" : ", ") + s.name;
            throw UsageError(fmt::format("--in {}: {} has no input '{}' (inputs: {})", text, loss.name, name, names));
        }
        if (!files.emplace(name, file).second) throw UsageError(fmt::format("--in {}: input '{}' given twice", text, name));
    }
    return files;
}

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
    ArrayMap<T> inputs;
    for (const auto& [name, file] : files) {
        try {
            inputs[name] = read_npy<T>(file).array;
        } catch (const NpyError& e) {
            throw DataError(e.what());
        }
    }
    Evaluation<T> result;
    try {
        result = evaluate(loss, options, inputs);
    } catch (const Error& e) {
        throw DataError(naming_loss(loss, e.what()));
    }
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) throw DataError(fmt::format("{}: cannot create the output directory: {}", out.string(), ec.message()));
    write(out / "loss.npy", result.output);
    for (const auto& [name, gradient] : result.gradients) write(out / fmt::format("grad_{}.npy", name), gradient);
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
