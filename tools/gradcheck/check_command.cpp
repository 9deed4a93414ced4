// `xtape-gradcheck check`: the grid of configurations of every chosen loss at
// each order, and a Taylor test per loss, checked and reported.
#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "arguments.hpp"
#include "check.hpp"
#include "commands.hpp"
#include "html_report.hpp"
#include "point.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "tool_errors.hpp"

namespace xtape::tool {

namespace {

// The orders to check: the one asked for, else both. --dtype float32 checks float's gradients
// (float_gradient_function runs the float loss's backward inside one node, which has no
// differentiable backward), so order 1 only.
// The Taylor test stays first order (R0, R1): with a curvature its steps would be chosen for R2,
// larger ones, at which R1 shows only larger gradient errors (see `taylor --order`).
CheckSettings check_settings(const CheckCommand& command) {
    const bool float_gradients = command.dtype == "float32";
    if (float_gradients && command.order == 2) {
        throw UsageError(
            "--order 2 --dtype float32: --dtype float32 checks first-order gradients only; Hessian-vector products "
            "are checked in double (drop --dtype float32)");
    }
    CheckSettings settings{command.gradcheck, float_gradients, command.taylor, {1, 2}};
    if (command.order) {
        settings.orders = {*command.order};
    } else if (float_gradients) {
        settings.orders = {1};
    }
    return settings;
}

}  // namespace

int run_check(const CheckCommand& command) {
    // Everything the user chose is parsed, and refused when the loss rejects it,
    // before anything is checked: a usage error should not wait for a long run.
    const CheckSettings settings = check_settings(command);
    std::vector<std::pair<const LossInfo*, std::vector<Configuration>>> grids;
    std::vector<std::pair<const LossInfo*, Configuration>> taylor;
    std::size_t checks = 0;
    for (const auto& [loss, request] :
         loss_requests(command.losses, command.options, command.shape, command.inputs, command.seed)) {
        std::vector<Configuration> grid = configuration_grid(*loss, request);
        for (const auto& c : grid) refuse_rejected_choice(*loss, c, request);
        checks += grid.size() * settings.orders.size();
        grids.emplace_back(loss, std::move(grid));
        Configuration c = taylor_configuration(*loss, request);
        refuse_rejected_choice(*loss, c, request);
        taylor.emplace_back(loss, std::move(c));
    }

    std::vector<CheckRecord> records;
    std::vector<TaylorRecord> taylor_records;
    {
        Progress progress(checks + taylor.size());
        // A loss's rows together: its grid at order 1, then at order 2.
        for (const auto& [loss, grid] : grids) {
            for (const int order : settings.orders) {
                for (const auto& configuration : grid) {
                    progress.step(fmt::format("{} order {} {}", loss->name, order, describe(configuration)));
                    records.push_back(check_configuration(*loss, configuration, order, settings));
                }
            }
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
