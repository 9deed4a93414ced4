// Applying a loss to arrays on a fresh tape: its output, the gradients of its sum and Hessian-vector products.
#include "evaluation.hpp"

#include "xtape/derivatives.hpp"

namespace xtape::tool {

template <class T>
Var<T> record_loss(Tape<T>& tape, const LossInfo& loss, const OptionMap& options, const ArrayMap<T>& inputs,
                   std::map<std::string, Var<T>>& leaves) {
    InputMap<T> vars;
    for (const auto& [name, array] : inputs) {
        if (loss.is_differentiable(options, name)) {
            vars[name] = leaves[name] = tape.leaf(array);
        } else {
            vars[name] = tape.constant(array);
        }
        tape.set_name(vars[name], name);  // the input's role, for the graph
    }
    return loss.apply<T>(options, vars);
}

template <class T>
Evaluation<T> evaluate(const LossInfo& loss, const OptionMap& options, const ArrayMap<T>& inputs) {
    Tape<T> tape;
    std::map<std::string, Var<T>> leaves;
    const Var<T> output = record_loss(tape, loss, options, inputs, leaves);
    tape.backward(output, xt::ones<T>(output.shape()));
    Evaluation<T> result{output.value(), {}};
    for (const auto& [name, leaf] : leaves) result.gradients[name] = leaf.grad();
    return result;
}

template <class T>
std::map<std::string, xt::xarray<T>> hessian_times(const LossInfo& loss, const OptionMap& options,
                                                   const ArrayMap<T>& inputs, const ArrayMap<T>& directions) {
    // hvp's blocks: the differentiable inputs, in the order of `names`.
    std::vector<std::string> names;
    std::vector<xt::xarray<T>> xs, vs;
    for (const auto& [name, array] : inputs) {
        if (!loss.is_differentiable(options, name)) continue;
        names.push_back(name);
        xs.push_back(array);
        const auto v = directions.find(name);
        vs.push_back(v != directions.end() ? v->second : xt::xarray<T>(xt::zeros<T>(array.shape())));
    }
    // hvp records f on a scratch tape of its own, the current one while f runs.
    const MultiFn<T> f = [&](std::span<const Var<T>> leaves) {
        InputMap<T> vars;
        for (std::size_t k = 0; k < names.size(); ++k) vars[names[k]] = leaves[k];
        for (const auto& [name, array] : inputs) {
            if (!vars.count(name)) vars[name] = current_tape<T>().constant(array);
        }
        return loss.apply<T>(options, vars);
    };
    const std::vector<xt::xarray<T>> blocks = hvp(f, xs, vs);
    std::map<std::string, xt::xarray<T>> result;
    for (std::size_t k = 0; k < names.size(); ++k) result[names[k]] = blocks[k];
    return result;
}

template <class T>
ArrayMap<T> converted(const ArrayMap<double>& inputs) {
    ArrayMap<T> out;
    for (const auto& [name, array] : inputs) out[name] = xt::cast<T>(array);
    return out;
}

#define XTAPE_TOOL_INSTANTIATE(T)                                                                          \
    template Var<T> record_loss(Tape<T>&, const LossInfo&, const OptionMap&, const ArrayMap<T>&,            \
                                std::map<std::string, Var<T>>&);                                            \
    template Evaluation<T> evaluate(const LossInfo&, const OptionMap&, const ArrayMap<T>&);                 \
    template std::map<std::string, xt::xarray<T>> hessian_times(const LossInfo&, const OptionMap&,           \
                                                                const ArrayMap<T>&, const ArrayMap<T>&);    \
    template ArrayMap<T> converted(const ArrayMap<double>&);

XTAPE_TOOL_INSTANTIATE(float)
XTAPE_TOOL_INSTANTIATE(double)

}  // namespace xtape::tool
