// `xtape-gradcheck taylor`: the Taylor test of each chosen loss alone (R0, R1 and, at order 2, R2), every step
// printed.
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
    // At order 2, R2 too, from the Hessian-vector product.
    TaylorOptions options = command.taylor;
    if (command.order == 2) options.curvature = curvature_along;
    std::vector<TaylorRecord> records;
    for (const auto& [loss, configuration] : work) records.push_back(taylor_check(*loss, configuration, options));
    if (command.json) {
        print_json(std::cout, {}, records, CheckSettings{.gradcheck = {}, .float_gradients = false, .taylor = options});
    } else {
        print_taylor(std::cout, records);
    }
    const bool passed = std::all_of(records.begin(), records.end(), [](const TaylorRecord& r) { return r.passed(); });
    return passed ? exit_passed : exit_failed;
}

}  // namespace xtape::tool
