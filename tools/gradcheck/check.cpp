// Checking one configuration of a loss: a finite value, gradients against
// central differences, and float against double.
#include "check.hpp"

#include <cmath>

#include <fmt/format.h>

#include "evaluation.hpp"
#include "float_gradient.hpp"

namespace xtape::tool {

namespace {

// The sampled inputs that the configuration gives.
ArrayMap<double> sampled_inputs(const LossInfo& loss, const Configuration& c) {
    ArrayMap<double> all = loss.sample(c.options, c.pred_shape, c.seed);
    ArrayMap<double> chosen;
    for (const auto& name : c.inputs) {
        const auto it = all.find(name);
        if (it == all.end()) throw ValueError(fmt::format("{}: the registry's sampler gives no '{}'", loss.name, name));
        chosen.emplace(name, std::move(it->second));
    }
    return chosen;
}

// The loss as a function of its differentiable inputs (in `names` order), the
// others held constant: what xtape::gradcheck differentiates.
GradcheckFunction double_function(const LossInfo& loss, const OptionMap& options, const ArrayMap<double>& inputs,
                                  const std::vector<std::string>& names) {
    return [bound = loss.bind<double>(options), &inputs, &names](Tape<double>& tape,
                                                                 const std::vector<Var<double>>& leaves) {
        InputMap<double> vars;
        for (std::size_t k = 0; k < names.size(); ++k) vars[names[k]] = leaves[k];
        for (const auto& [name, array] : inputs) {
            if (!vars.count(name)) vars[name] = tape.constant(array);
        }
        return bound(vars);
    };
}

std::string first_non_finite(const xt::xarray<double>& value) {
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (!std::isfinite(value.flat(i))) return fmt::format("the loss value is not finite: loss[{}] = {}", i, value.flat(i));
    }
    return {};
}

}  // namespace

CheckRecord check_configuration(const LossInfo& loss, const Configuration& configuration,
                                const CheckSettings& settings) {
    CheckRecord record{loss.name, configuration, {}, {}, {}};
    const OptionMap& options = configuration.options;
    try {
        const ArrayMap<double> inputs = sampled_inputs(loss, configuration);

        const Evaluation<double> value = evaluate(loss, options, inputs);
        record.problem = first_non_finite(value.output);
        if (!record.problem.empty()) return record;

        std::vector<std::string> names;
        std::vector<GradcheckInput> differentiable;
        for (const auto& [name, array] : inputs) {
            if (loss.is_differentiable(options, name)) {
                names.push_back(name);
                differentiable.push_back({name, array});
            }
        }
        const GradcheckFunction f = settings.float_gradients ? float_gradient_function(loss, options, inputs, names)
                                                             : double_function(loss, options, inputs, names);
        record.gradient = gradcheck(f, differentiable, settings.gradcheck);
        record.precision = compare_float_with_double(loss, options, inputs);

        if (!record.gradient.problem.empty()) {
            record.problem = record.gradient.problem;
        } else if (!record.gradient.passed) {
            record.problem = fmt::format("gradient of {}[{}]: analytic {:.10g}, numeric {:.10g}",
                                         record.gradient.worst_input, record.gradient.worst_index,
                                         record.gradient.worst_analytic, record.gradient.worst_numeric);
        } else if (!record.precision.passed) {
            record.problem = fmt::format("float disagrees with double: {}", record.precision.worst);
        }
    } catch (const std::exception& e) {
        // A configuration of the registry's own grid that the loss rejects is a
        // failure of the registry or the loss; report it and go on.
        record.problem = fmt::format("error: {}", e.what());
    }
    return record;
}

}  // namespace xtape::tool
