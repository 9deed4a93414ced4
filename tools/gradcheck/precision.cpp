// Whether the float version of a loss agrees with the double one.
#include "precision.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>

#include "evaluation.hpp"

namespace xtape::tool {

namespace {

void compare(const std::string& name, const xt::xarray<float>& single, const xt::xarray<double>& reference,
             PrecisionResult& result) {
    if (single.shape() != reference.shape()) {
        result.passed = false;
        result.worst = fmt::format("{}: float shape {} but double shape {}", name, to_string(single.shape()),
                                   to_string(reference.shape()));
        result.max_rel_error = std::numeric_limits<double>::infinity();
        return;
    }
    double scale = 1;
    for (double v : reference) scale = std::max(scale, std::abs(v));
    for (std::size_t i = 0; i < reference.size(); ++i) {
        const double d = reference.flat(i);
        const double f = single.flat(i);
        const double error = std::abs(f - d) / (std::abs(d) + float_floor * scale);
        // NaN compares false everywhere: count it as the worst disagreement.
        const bool agrees = error <= float_rtol;
        const double reported = std::isnan(error) ? std::numeric_limits<double>::infinity() : error;
        if (reported > result.max_rel_error || (!agrees && result.passed)) {
            result.max_rel_error = std::max(result.max_rel_error, reported);
            result.worst = fmt::format("{}[{}]: float {:.9g}, double {:.17g}", name, i, f, d);
        }
        if (!agrees) result.passed = false;
    }
}

}  // namespace

PrecisionResult compare_float_with_double(const LossInfo& loss, const OptionMap& options,
                                          const ArrayMap<double>& inputs) {
    const Evaluation<double> reference = evaluate(loss, options, inputs);
    const Evaluation<float> single = evaluate(loss, options, converted<float>(inputs));
    PrecisionResult result;
    compare("loss", single.output, reference.output, result);
    for (const auto& [name, gradient] : reference.gradients) {
        compare("grad_" + name, single.gradients.at(name), gradient, result);
    }
    return result;
}

}  // namespace xtape::tool
