// `xtape-gradcheck check`: the grid of configurations of every chosen loss, checked and reported.
#include <algorithm>
#include <iostream>

#include "arguments.hpp"
#include "check.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "tool_errors.hpp"

namespace xtape::tool {

int run_check(const CheckCommand& command) {
    std::vector<const LossInfo*> losses;
    if (command.losses.empty()) {
        for (const auto& loss : loss_registry()) losses.push_back(&loss);
    } else {
        for (const auto& name : command.losses) losses.push_back(&loss_named(name));
    }
    const std::optional<Shape> shape =
        command.shape.empty() ? std::nullopt : std::optional<Shape>(parse_shape(command.shape));

    // Parse everything before checking anything: a usage error should not wait for a long run.
    std::vector<std::pair<const LossInfo*, Configuration>> work;
    for (const LossInfo* loss : losses) {
        const GridRequest request{parse_options(*loss, command.options), shape, command.seed};
        for (auto& c : configuration_grid(*loss, request)) work.emplace_back(loss, std::move(c));
    }

    const CheckSettings settings{command.gradcheck, command.dtype == "float32"};
    std::vector<CheckRecord> records;
    {
        Progress progress(work.size());
        for (const auto& [loss, configuration] : work) {
            progress.step(loss->name + " " + describe(configuration));
            records.push_back(check_configuration(*loss, configuration, settings));
        }
    }
    if (command.json) {
        print_json(std::cout, records, settings);
    } else {
        print_table(std::cout, records);
    }
    const bool all_passed = std::all_of(records.begin(), records.end(), [](const CheckRecord& r) { return r.passed(); });
    return all_passed ? exit_passed : exit_failed;
}

}  // namespace xtape::tool
