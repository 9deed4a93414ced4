// The Taylor test of one configuration of a loss, with the error of central differences along its direction.
#include "taylor.hpp"

#include <cmath>

#include <fmt/format.h>

#include "point.hpp"
#include "xtape/derivatives.hpp"

namespace xtape::tool {

std::vector<double> difference_steps() {
    std::vector<double> steps;
    for (int k = 4; k <= 26; ++k) steps.push_back(std::pow(10.0, -k / 2.0));
    return steps;
}

namespace {

// A sampled point where J does not change along h (every triplet, or every dissimilar
// pair, inside its margin) gives the test nothing to compare: this many further seeds,
// seed + 1000 k, are tried, and the record's configuration names the one that served.
constexpr int flat_redraws = 4;

bool flat(const TaylorResult& r) { return !r.series.empty() && r.series.front().at_rounding; }

}  // namespace

double curvature_along(const GradcheckFunction& scalar, const std::vector<GradcheckInput>& x,
                       const std::vector<xt::xarray<double>>& h) {
    // hvp records f on a scratch tape of its own, the current one while f runs.
    const MultiFn<double> f = [&scalar](std::span<const Var<double>> leaves) {
        return scalar(current_tape<double>(), std::vector<Var<double>>(leaves.begin(), leaves.end()));
    };
    std::vector<xt::xarray<double>> xs;
    for (const auto& input : x) xs.push_back(input.value);
    const std::vector<xt::xarray<double>> hh = hvp(f, xs, h);
    double curvature = 0;
    for (std::size_t k = 0; k < h.size(); ++k) {
        for (std::size_t i = 0; i < h[k].size(); ++i) curvature += h[k].flat(i) * hh[k].flat(i);
    }
    return curvature;
}

TaylorRecord taylor_check(const LossInfo& loss, const Configuration& configuration, const TaylorOptions& options) {
    TaylorRecord record{loss.name, configuration, {}, {}, {}};
    try {
        for (int redraw = 0; redraw <= flat_redraws; ++redraw) {
            record.configuration.seed = configuration.seed + 1000 * static_cast<std::uint64_t>(redraw);
            const LossPoint point(loss, record.configuration);
            TaylorOptions seeded = options;
            seeded.seed = record.configuration.seed;
            record.taylor = taylor_test(point.function(), point.differentiable(), seeded);
            record.differences =
                central_difference_errors(point.function(), point.differentiable(), difference_steps(), seeded.seed);
            // The user's own arrays are the point to test, flat or not.
            if (!flat(record.taylor) || !configuration.given->empty()) break;
        }
        record.problem = record.taylor.problem;
    } catch (const std::exception& e) {
        record.problem = fmt::format("error: {}", e.what());
    }
    return record;
}

}  // namespace xtape::tool
