// SigmoidBinaryCrossEntropyLoss: binary cross-entropy on logits or probabilities.
#include "xtape/losses/sigmoid_bce_loss.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "graph_inputs.hpp"
#include "loss_infos.hpp"
#include "registry_support.hpp"

namespace xtape {

template <class T>
SigmoidBinaryCrossEntropyLoss<T>::SigmoidBinaryCrossEntropyLoss(const SigmoidBinaryCrossEntropyLossOptions& options)
    : Loss<T>("SigmoidBinaryCrossEntropyLoss", options.weight, options.batch_axis),
      from_sigmoid_(options.from_sigmoid) {}

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
    auto in = detail::pred_label_inputs(pred, label, sample_weight, this->name());
    const auto sw = in.sample_weight_at();
    const auto pw = in.add_weight(pos_weight, pred.shape());
    return this->evaluate(in.vars(), in.splits(), [self = *this, sw, pw](std::span<const Var<T>> v) {
        const Var<T>& x = v[0];
        const Var<T>& y = v[1];
        const std::optional<Var<T>> pos_weight = detail::input_at(v, pw);
        Var<T> e;
        if (!self.from_sigmoid_) {
            if (pos_weight) {
                // (1-y)*x + (1+(p-1)*y)*softplus(-x): the positive term log(1+exp(-x)) scaled by p
                const Var<T> scale = add(mul(add(*pos_weight, T(-1)), y), T(1));
                e = add(mul(rsub(T(1), y), x), mul(scale, softplus(neg(x))));
            } else {
                e = sub(softplus(x), mul(x, y));
            }
        } else {
            // The 1e-12 keeps log finite at probabilities of exactly 0 or 1, as Gluon does.
            Var<T> positive = mul(y, log(add(x, T(1e-12))));
            if (pos_weight) positive = mul(*pos_weight, positive);
            const Var<T> negative = mul(rsub(T(1), y), log(add(rsub(T(1), x), T(1e-12))));
            e = neg(add(positive, negative));
        }
        return self.weighted_batch_mean(e, detail::input_at(v, sw));
    });
}

template <class T>
std::string SigmoidBinaryCrossEntropyLoss<T>::repr() const {
    return fmt::format("{}, from_sigmoid={})", this->repr_head(), from_sigmoid_);
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
    info.options = {{"from_sigmoid", OptionType::Bool, "false", {}, {"false", "true"}, "pred holds probabilities"},
                    weight_option("None"),
                    batch_axis_option()};
    info.check_shapes = default_check_shapes();
    set_callables<SigmoidBinaryCrossEntropyLoss>(
        info,
        [](const OptionReader& o) {
            return SigmoidBinaryCrossEntropyLossOptions{
                .from_sigmoid = o.get_bool("from_sigmoid"), .weight = o.weight(), .batch_axis = o.batch_axis()};
        },
        [](const auto& loss, const auto& in) {
            return loss(in.required("pred"), in.required("label"), in.optional("sample_weight"),
                        in.optional("pos_weight"));
        });
    set_sampler(info, [](const OptionReader& o, const Shape& shape, Sampler& s) {
        // Probabilities stay inside (0, 1), away from the 1e-12 guards.
        xt::xarray<double> pred = o.get_bool("from_sigmoid") ? s.uniform(shape, 0.05, 0.95) : s.uniform(shape, -3, 3);
        return ArrayMap<double>{{"pred", std::move(pred)},
                                {"label", s.uniform(shape, 0, 1)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)},
                                {"pos_weight", s.uniform(Shape{shape.back()}, 0.5, 2)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
