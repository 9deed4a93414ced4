// SigmoidFocalLoss: binary cross-entropy on logits, scaled by (1 - p_t)^gamma and alpha.
#include "xtape/losses/sigmoid_focal_loss.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
using Options = SigmoidFocalLossOptions;
const detail::OptionFields<Options>& fields() {
    static const detail::OptionFields<Options> list(
        {detail::field("alpha", &Options::alpha, "weight of the positive class; < 0 applies none", {"-1"}),
         detail::field("gamma", &Options::gamma, "focusing exponent of (1 - p_t), >= 0", {"0", "1.5"}),
         detail::weight_field<Options>(), detail::batch_axis_field<Options>()});
    return list;
}
}  // namespace

template <class T>
SigmoidFocalLoss<T>::SigmoidFocalLoss(const Options& options)
    : Loss<T>("SigmoidFocalLoss", options.weight, options.batch_axis), options_(options) {
    if (!(options_.gamma >= 0)) {
        throw ValueError(fmt::format("{}: gamma must be >= 0, got {}", this->name(), options_.gamma));
    }
    if (std::isnan(options_.alpha)) throw ValueError(fmt::format("{}: alpha must be a number, got nan", this->name()));
}

template <class T>
Var<T> SigmoidFocalLoss<T>::operator()(const Var<T>& pred, const Var<T>& label,
                                       std::optional<Var<T>> sample_weight) const {
    const auto focal = [alpha = static_cast<double>(static_cast<T>(options_.alpha)),
                        gamma = static_cast<double>(static_cast<T>(options_.gamma))](auto v) {
        const auto& x = v[0];
        const auto& y = v[1];
        auto e = softplus(x) - x * y;  // the cross-entropy of the logit
        if (gamma != 0) {
            const auto p = sigmoid(x);
            e = e * pow(p + y - 2.0 * p * y, gamma);  // (1 - p_t)^gamma
        }
        if (alpha >= 0) e = e * (alpha * y + (1.0 - alpha) * (1.0 - y));
        return e;
    };
    return detail::pred_label_mean(*this, focal, pred, label, sample_weight, this->weight());
}

template <class T>
std::string SigmoidFocalLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class SigmoidFocalLoss<float>;
template class SigmoidFocalLoss<double>;

namespace detail {

LossInfo sigmoid_focal_loss_info() {
    LossInfo info;
    info.name = "SigmoidFocalLoss";
    info.summary = "sigmoid cross-entropy scaled by (1 - p_t)^gamma and alpha (torchvision, optax)";
    info.inputs = {required_input("pred", "logits"), required_input("label", "targets in [0, 1], reshaped like pred"),
                   sample_weight_input()};
    info.check_shapes = default_check_shapes();
    set_callables<SigmoidFocalLoss>(info, fields(), call_pred_label);
    set_sampler(info, fields(), [](const Options&, const Shape& shape, Sampler& s) {
        return ArrayMap<double>{{"pred", s.uniform(shape, -3, 3)},
                                {"label", s.uniform(shape, 0, 1)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
