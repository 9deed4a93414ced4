// SigmoidBinaryCrossEntropyLoss: binary cross-entropy on logits or probabilities.
#include "xtape/losses/sigmoid_bce_loss.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
using Options = SigmoidBinaryCrossEntropyLossOptions;
const detail::OptionFields<Options>& fields() {
    static const detail::OptionFields<Options> list(
        {detail::field("from_sigmoid", &Options::from_sigmoid, "pred holds probabilities", {"true"}),
         detail::weight_field<Options>(), detail::batch_axis_field<Options>()});
    return list;
}
}  // namespace

template <class T>
SigmoidBinaryCrossEntropyLoss<T>::SigmoidBinaryCrossEntropyLoss(const Options& options)
    : Loss<T>("SigmoidBinaryCrossEntropyLoss", options.weight, options.batch_axis), options_(options) {}

template <class T>
Var<T> SigmoidBinaryCrossEntropyLoss<T>::operator()(const Var<T>& pred, const Var<T>& label,
                                                    std::optional<Var<T>> sample_weight,
                                                    std::optional<Var<T>> pos_weight) const {
    this->check_batch_axis(pred);
    this->check_sample_weight(sample_weight, pred.shape());
    if (pos_weight && !broadcasts_to(pos_weight->shape(), pred.shape())) {
        throw ShapeError(fmt::format("{}: pos_weight of shape {} does not broadcast to pred of shape {}",
                                     this->name(), to_string(pos_weight->shape()), to_string(pred.shape())));
    }
    // x, y reshaped like x, and p broadcast to x's shape
    xt::svector<Var<T>, 4> in{pred, reshape_like(label, pred, this->name(), "label")};
    if (pos_weight) in.push_back(broadcast_to(*pos_weight, pred.shape()));
    const auto bce = [from_sigmoid = options_.from_sigmoid](auto v) {
        const auto& x = v[0];
        const auto& y = v[1];
        const bool weighted = v.size() == 3;
        if (!from_sigmoid) {
            if (!weighted) return softplus(x) - x * y;
            // (1-y)*x + (1+(p-1)*y)*softplus(-x): the positive term log(1+exp(-x)) scaled by p
            return (1.0 - y) * x + ((v[2] - 1.0) * y + 1.0) * softplus(-x);
        }
        // The 1e-12 keeps log finite at probabilities of exactly 0 or 1, as Gluon does.
        auto positive = y * log(x + 1e-12);
        if (weighted) positive = v[2] * positive;
        return -(positive + (1.0 - y) * log((1.0 - x) + 1e-12));
    };
    return detail::reduce_elementwise(*this, detail::elementwise<T>(bce), std::span<const Var<T>>(in), sample_weight,
                                      this->weight(), detail::BatchReduction::mean);
}

template <class T>
std::string SigmoidBinaryCrossEntropyLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class SigmoidBinaryCrossEntropyLoss<float>;
template class SigmoidBinaryCrossEntropyLoss<double>;

namespace detail {

LossInfo sigmoid_bce_loss_info() {
    LossInfo info;
    info.name = "SigmoidBinaryCrossEntropyLoss";
    info.aliases = {"SigmoidBCELoss"};
    info.summary = "binary cross-entropy of logits (or probabilities) against labels in [0, 1]";
    info.inputs = {required_input("pred", "logits, or probabilities when from_sigmoid"),
                   required_input("label", "targets in [0, 1], reshaped like pred"), sample_weight_input(),
                   {"pos_weight", false, true, "weight of the positive term, broadcast to pred"}};
    info.check_shapes = default_check_shapes();
    set_callables<SigmoidBinaryCrossEntropyLoss>(info, fields(), [](const auto& loss, const auto& in) {
        return loss(in.required("pred"), in.required("label"), in.optional("sample_weight"),
                    in.optional("pos_weight"));
    });
    set_sampler(info, fields(), [](const Options& o, const Shape& shape, Sampler& s) {
        // Probabilities stay inside (0, 1), away from the 1e-12 guards.
        xt::xarray<double> pred = o.from_sigmoid ? s.uniform(shape, 0.05, 0.95) : s.uniform(shape, -3, 3);
        return ArrayMap<double>{{"pred", std::move(pred)},
                                {"label", s.uniform(shape, 0, 1)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)},
                                {"pos_weight", s.uniform(Shape{shape.back()}, 0.5, 2)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
