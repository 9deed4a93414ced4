// A loss at one configuration: its arrays, and the loss as the function the checks differentiate.
#include "point.hpp"

#include <fmt/format.h>

#include "arguments.hpp"
#include "evaluation.hpp"
#include "float_gradient.hpp"
#include "tool_errors.hpp"

namespace xtape::tool {

LossPoint::LossPoint(const LossInfo& loss, const Configuration& c) : loss_(loss), options_(c.options) {
    ArrayMap<double> sampled = loss.sample(c.options, c.pred_shape, c.seed);
    for (const auto& name : c.inputs) {
        const auto given = c.given->find(name);
        if (given != c.given->end()) {
            inputs_.emplace(name, given->second);
            continue;
        }
        const auto it = sampled.find(name);
        if (it == sampled.end()) {
            throw ValueError(fmt::format("{}: the registry's sampler gives no '{}'", loss.name, name));
        }
        inputs_.emplace(name, std::move(it->second));
    }
    for (const auto& [name, array] : inputs_) {
        if (loss.is_differentiable(c.options, name)) {
            names_.push_back(name);
            differentiable_.push_back({name, array});
        }
    }
}

GradcheckFunction LossPoint::function() const {
    return [bound = loss_.bind<double>(options_), this](Tape<double>& tape, const std::vector<Var<double>>& leaves) {
        InputMap<double> vars;
        for (std::size_t k = 0; k < names_.size(); ++k) vars[names_[k]] = leaves[k];
        for (const auto& [name, array] : inputs_) {
            if (!vars.count(name)) vars[name] = tape.constant(array);
        }
        return bound(vars);
    };
}

GradcheckFunction LossPoint::float_gradient_function() const {
    return tool::float_gradient_function(loss_, options_, inputs_, names_);
}

std::optional<std::string> rejection(const LossInfo& loss, const Configuration& configuration) {
    try {
        const LossPoint point(loss, configuration);
        evaluate(loss, configuration.options, point.inputs());
    } catch (const Error& e) {
        return naming_loss(loss, e.what());
    }
    return std::nullopt;
}

void refuse_rejected_choice(const LossInfo& loss, const Configuration& c, const GridRequest& request) {
    const bool chose_data = request.shape.has_value() || !request.given->empty();
    if (request.fixed_options.empty() && !chose_data) return;
    const std::optional<std::string> why = rejection(loss, c);
    if (!why) return;
    const std::string message = fmt::format("{} (configuration {})", *why, describe(c));
    if (!request.fixed_options.empty()) {
        Configuration without = c;
        for (const auto& [name, value] : request.fixed_options) without.options.erase(name);
        if (!rejection(loss, without)) throw UsageError(message);
    }
    if (chose_data) throw DataError(message);
}

}  // namespace xtape::tool
