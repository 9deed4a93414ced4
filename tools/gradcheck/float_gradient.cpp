// The loss with a double forward pass and a float backward pass, to check
// float's analytic gradients against double's central differences.
#include "float_gradient.hpp"

#include "evaluation.hpp"

namespace xtape::tool {

namespace {

// The inputs with the differentiable ones replaced by `values` (in `names` order).
template <class T, class GetValue>
ArrayMap<T> inputs_at(const ArrayMap<double>& inputs, const std::vector<std::string>& names, GetValue value_of) {
    ArrayMap<T> out = converted<T>(inputs);
    for (std::size_t k = 0; k < names.size(); ++k) out[names[k]] = xt::cast<T>(value_of(k));
    return out;
}

}  // namespace

GradcheckFunction float_gradient_function(const LossInfo& loss, const OptionMap& options,
                                          const ArrayMap<double>& inputs, const std::vector<std::string>& names) {
    return [&loss, &options, &inputs, &names](Tape<double>& tape, const std::vector<Var<double>>& leaves) {
        const ArrayMap<double> at = inputs_at<double>(inputs, names, [&](std::size_t k) { return leaves[k].value(); });
        Tape<double> forward_tape;
        std::map<std::string, Var<double>> unused_leaves;
        xt::xarray<double> value = record_loss(forward_tape, loss, options, at, unused_leaves).value();
        // One node stands for the whole loss; its backward runs the float loss.
        const auto backward = [&loss, &options, &inputs, &names](GradContext<double>& c) {
            const ArrayMap<float> single = inputs_at<float>(inputs, names, [&](std::size_t k) { return c.input(k); });
            Tape<float> float_tape;
            std::map<std::string, Var<float>> float_leaves;
            const Var<float> output = record_loss(float_tape, loss, options, single, float_leaves);
            float_tape.backward(output, xt::xarray<float>(xt::cast<float>(c.grad())));
            for (std::size_t k = 0; k < names.size(); ++k) {
                c.accumulate(k, xt::xarray<double>(xt::cast<double>(float_leaves.at(names[k]).grad())));
            }
        };
        return tape.record("loss_in_float", std::span<const Var<double>>(leaves), std::move(value), backward);
    };
}

}  // namespace xtape::tool
