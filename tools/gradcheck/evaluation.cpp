// Applying a loss to arrays on a fresh tape: its output and the gradients of its sum.
#include "evaluation.hpp"

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
ArrayMap<T> converted(const ArrayMap<double>& inputs) {
    ArrayMap<T> out;
    for (const auto& [name, array] : inputs) out[name] = xt::cast<T>(array);
    return out;
}

#define XTAPE_TOOL_INSTANTIATE(T)                                                                          \
    template Var<T> record_loss(Tape<T>&, const LossInfo&, const OptionMap&, const ArrayMap<T>&,            \
                                std::map<std::string, Var<T>>&);                                            \
    template Evaluation<T> evaluate(const LossInfo&, const OptionMap&, const ArrayMap<T>&);                 \
    template ArrayMap<T> converted(const ArrayMap<double>&);

XTAPE_TOOL_INSTANTIATE(float)
XTAPE_TOOL_INSTANTIATE(double)

}  // namespace xtape::tool
