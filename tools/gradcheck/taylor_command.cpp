// `xtape-gradcheck taylor`: the Taylor test of each chosen loss alone, every step printed.
#include <algorithm>
#include <iostream>

#include "arguments.hpp"
#include "commands.hpp"
#include "point.hpp"
#include "report.hpp"
#include "tool_errors.hpp"

namespace xtape::tool {

int run_taylor(const TaylorCommand& command) {
    std::vector<std::pair<const LossInfo*, Configuration>> work;
    for (const auto& [loss, request] :
         loss_requests(command.losses, command.options, command.shape, command.inputs, command.seed)) {
        Configuration c = taylor_configuration(*loss, request);
        refuse_rejected_choice(*loss, c, request);
        work.emplace_back(loss, std::move(c));
    }
    std::vector<TaylorRecord> records;
    for (const auto& [loss, configuration] : work)
        records.push_back(taylor_check(*loss, configuration, command.taylor));
    if (command.json) {
        print_json(std::cout, {}, records, CheckSettings{.gradcheck = {}, .float_gradients = false, .taylor = command.taylor});
    } else {
        print_taylor(std::cout, records);
    }
    const bool passed = std::all_of(records.begin(), records.end(), [](const TaylorRecord& r) { return r.passed(); });
    return passed ? exit_passed : exit_failed;
}

}  // namespace xtape::tool
