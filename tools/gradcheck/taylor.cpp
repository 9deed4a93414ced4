// The Taylor test of one configuration of a loss, with the error of central differences along its direction.
#include "taylor.hpp"

#include <cmath>

#include <fmt/format.h>

#include "point.hpp"

namespace xtape::tool {

std::vector<double> difference_steps() {
    std::vector<double> steps;
    for (int k = 4; k <= 26; ++k) steps.push_back(std::pow(10.0, -k / 2.0));
    return steps;
}

TaylorRecord taylor_check(const LossInfo& loss, const Configuration& configuration, const TaylorOptions& options) {
    TaylorRecord record{loss.name, configuration, {}, {}, {}};
    try {
        const LossPoint point(loss, configuration);
        TaylorOptions seeded = options;
        seeded.seed = configuration.seed;
        record.taylor = taylor_test(point.function(), point.differentiable(), seeded);
        record.differences =
            central_difference_errors(point.function(), point.differentiable(), difference_steps(), seeded.seed);
        record.problem = record.taylor.problem;
    } catch (const std::exception& e) {
        record.problem = fmt::format("error: {}", e.what());
    }
    return record;
}

}  // namespace xtape::tool
