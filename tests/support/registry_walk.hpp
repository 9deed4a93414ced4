// Walking the loss registry in tests: option grids, sampled inputs, and applying a loss on a tape.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "xtape/xtape.hpp"

namespace xtape::test {

/// Every combination of the grid values of the loss's options.
inline std::vector<OptionMap> option_grid(const LossInfo& info) {
    std::vector<OptionMap> grid = {{}};
    for (const auto& option : info.options) {
        std::vector<OptionMap> next;
        for (const auto& partial : grid) {
            for (const auto& value : option.grid) {
                OptionMap m = partial;
                m[option.name] = value;
                next.push_back(std::move(m));
            }
        }
        grid = std::move(next);
    }
    return grid;
}

/// The sampled inputs a check uses: all of them, or the required ones only.
inline ArrayMap<double> chosen_inputs(const LossInfo& info, const ArrayMap<double>& sample, bool optionals) {
    ArrayMap<double> out;
    for (const auto& spec : info.inputs) {
        if (spec.required || optionals) out.emplace(spec.name, sample.at(spec.name));
    }
    return out;
}

/// The loss on a tape, with `leaves` in the order of the `differentiable` inputs and constants for the rest.
template <class T>
Var<T> apply_on(Tape<T>& tape, const LossInfo& info, const OptionMap& options, const ArrayMap<double>& inputs,
                const std::vector<std::string>& differentiable, const std::vector<Var<T>>& leaves) {
    InputMap<T> vars;
    for (const auto& [name, value] : inputs) {
        const auto it = std::find(differentiable.begin(), differentiable.end(), name);
        if (it != differentiable.end()) {
            vars.emplace(name, leaves[static_cast<std::size_t>(it - differentiable.begin())]);
        } else {
            vars.emplace(name, tape.constant(xt::xarray<T>(xt::cast<T>(value))));
        }
    }
    return info.apply<T>(options, vars);
}

/// The loss at `inputs` as the function the checks take: its differentiable
/// inputs are the leaves (`leaves`, for gradcheck and taylor_test), the rest constants.
struct LossFunction {
    const LossInfo& info;
    OptionMap options;
    ArrayMap<double> inputs;
    std::vector<std::string> differentiable;
    std::vector<GradcheckInput> leaves;

    LossFunction(const LossInfo& loss, OptionMap loss_options, ArrayMap<double> loss_inputs)
        : info(loss), options(std::move(loss_options)), inputs(std::move(loss_inputs)) {
        for (const auto& [name, value] : inputs) {
            if (info.is_differentiable(options, name)) {
                differentiable.push_back(name);
                leaves.push_back({name, value});
            }
        }
    }
    Var<double> operator()(Tape<double>& tape, const std::vector<Var<double>>& vars) const {
        return apply_on(tape, info, options, inputs, differentiable, vars);
    }
};

}  // namespace xtape::test
