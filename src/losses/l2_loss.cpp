// L2Loss: half the squared error, averaged per sample.
#include "xtape/losses/l2_loss.hpp"

#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
const detail::OptionFields<L2LossOptions>& fields() {
    static const detail::OptionFields<L2LossOptions> list(
        {detail::weight_field<L2LossOptions>(), detail::batch_axis_field<L2LossOptions>()});
    return list;
}
}  // namespace

template <class T>
L2Loss<T>::L2Loss(const L2LossOptions& options)
    : Loss<T>("L2Loss", options.weight, options.batch_axis), options_(options) {}

template <class T>
Var<T> L2Loss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    // (pred - label)^2, Gluon's (label - pred)^2 exactly, scaled by weight/2 (None counting as 1).
    const auto squared_error = [](auto v) { return square(v[0] - v[1]); };
    return detail::pred_label_mean(*this, squared_error, pred, label, sample_weight,
                                   this->weight().value_or(1.0) / 2);
}

template <class T>
std::string L2Loss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class L2Loss<float>;
template class L2Loss<double>;

namespace detail {

LossInfo l2_loss_info() {
    LossInfo info;
    info.name = "L2Loss";
    info.summary = "half the squared error: mean_b(sw * w/2 * (label - pred)^2)";
    info.inputs = {required_input("pred", "predictions"), required_input("label", "targets, reshaped like pred"),
                   sample_weight_input()};
    info.check_shapes = default_check_shapes();
    set_callables<L2Loss>(info, fields(), call_pred_label);
    set_sampler(info, fields(), [](const L2LossOptions&, const Shape& shape, Sampler& s) {
        return ArrayMap<double>{{"pred", s.uniform(shape, -2, 2)},
                                {"label", s.uniform(shape, -2, 2)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
