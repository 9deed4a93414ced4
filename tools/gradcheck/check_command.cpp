// `xtape-gradcheck check`: the grid of configurations of every chosen loss and
// a Taylor test per loss, checked and reported.
#include <algorithm>
#include <iostream>

#include "arguments.hpp"
#include "check.hpp"
#include "commands.hpp"
#include "html_report.hpp"
#include "point.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "tool_errors.hpp"

namespace xtape::tool {

int run_check(const CheckCommand& command) {
    // Everything the user chose is parsed, and refused when the loss rejects it,
    // before anything is checked: a usage error should not wait for a long run.
    std::vector<std::pair<const LossInfo*, Configuration>> grid, taylor;
    for (const auto& [loss, request] :
         loss_requests(command.losses, command.options, command.shape, command.inputs, command.seed)) {
        for (auto& c : configuration_grid(*loss, request)) {
            refuse_rejected_choice(*loss, c, request);
            grid.emplace_back(loss, std::move(c));
        }
        Configuration c = taylor_configuration(*loss, request);
        refuse_rejected_choice(*loss, c, request);
        taylor.emplace_back(loss, std::move(c));
    }

    const CheckSettings settings{command.gradcheck, command.dtype == "float32", command.taylor};
    std::vector<CheckRecord> records;
    std::vector<TaylorRecord> taylor_records;
    {
        Progress progress(grid.size() + taylor.size());
        for (const auto& [loss, configuration] : grid) {
            progress.step(loss->name + " " + describe(configuration));
            records.push_back(check_configuration(*loss, configuration, settings));
        }
        for (const auto& [loss, configuration] : taylor) {
            progress.step(loss->name + " Taylor test");
            taylor_records.push_back(taylor_check(*loss, configuration, settings.taylor));
        }
    }
    if (!command.report.empty()) write_html_report(command.report, records, taylor_records, settings);
    if (command.json) {
        print_json(std::cout, records, taylor_records, settings);
    } else {
        print_table(std::cout, records, taylor_records);
    }
    const bool all_passed =
        std::all_of(records.begin(), records.end(), [](const CheckRecord& r) { return r.passed(); }) &&
        std::all_of(taylor_records.begin(), taylor_records.end(), [](const TaylorRecord& r) { return r.passed(); });
    return all_passed ? exit_passed : exit_failed;
}

}  // namespace xtape::tool
