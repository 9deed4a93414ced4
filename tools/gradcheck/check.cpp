// Checking one configuration of a loss: a finite value, gradients (or
// Hessian-vector products) against central differences, and float against double.
#include "check.hpp"

#include <cmath>

#include <fmt/format.h>

#include "evaluation.hpp"
#include "point.hpp"

namespace xtape::tool {

namespace {

std::string first_non_finite(const xt::xarray<double>& value) {
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (!std::isfinite(value.flat(i))) {
            return fmt::format("the loss value is not finite: loss[{}] = {}", i, value.flat(i));
        }
    }
    return {};
}

}  // namespace

CheckRecord check_configuration(const LossInfo& loss, const Configuration& configuration, int order,
                                const CheckSettings& settings) {
    CheckRecord record{loss.name, configuration, order, {}, {}, {}};
    const OptionMap& options = configuration.options;
    try {
        const LossPoint point(loss, configuration);
        const Evaluation<double> value = evaluate(loss, options, point.inputs());
        record.problem = first_non_finite(value.output);
        if (!record.problem.empty()) return record;

        if (order == 1) {
            const GradcheckFunction f =
                settings.float_gradients ? point.float_gradient_function() : point.function();
            record.gradient = gradcheck(f, point.differentiable(), settings.gradcheck);
            record.precision = compare_float_with_double(loss, options, point.inputs());
        } else {
            record.gradient = gradgradcheck(point.function(), point.differentiable(), settings.gradcheck);
        }

        const GradcheckResult& g = record.gradient;
        if (!g.problem.empty()) {
            record.problem = g.problem;
        } else if (!g.passed) {
            record.problem = fmt::format(
                "{} of {}[{}]: analytic {:.10g}, numeric {:.10g} ({} of {} outside "
                "tolerance)",
                order == 1 ? "gradient" : "Hessian-vector product", g.worst_input, g.worst_index, g.worst_analytic,
                g.worst_numeric, g.failures, g.checked);
        } else if (!record.precision.passed) {
            record.problem = fmt::format("float disagrees with double: {}", record.precision.worst);
        }
    } catch (const std::exception& e) {
        // A configuration of the registry's own grid that the loss rejects is a
        // failure of the registry or the loss (the user's choices were refused
        // before the check began): report it and go on.
        record.problem = fmt::format("error: {}", e.what());
    }
    return record;
}

}  // namespace xtape::tool
