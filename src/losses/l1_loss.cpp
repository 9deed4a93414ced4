// L1Loss: the absolute error, averaged per sample.
#include "xtape/losses/l1_loss.hpp"

#include <cmath>

#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
const detail::OptionFields<L1LossOptions>& fields() {
    static const detail::OptionFields<L1LossOptions> list(
        {detail::weight_field<L1LossOptions>(), detail::batch_axis_field<L1LossOptions>()});
    return list;
}
}  // namespace

template <class T>
L1Loss<T>::L1Loss(const L1LossOptions& options)
    : Loss<T>("L1Loss", options.weight, options.batch_axis), options_(options) {}

template <class T>
Var<T> L1Loss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    // |pred - label|, Gluon's |label - pred| exactly.
    const auto absolute_error = [](auto v) { return abs(v[0] - v[1]); };
    return detail::pred_label_mean(*this, absolute_error, pred, label, sample_weight, this->weight());
}

template <class T>
std::string L1Loss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class L1Loss<float>;
template class L1Loss<double>;

namespace detail {

LossInfo l1_loss_info() {
    LossInfo info;
    info.name = "L1Loss";
    info.summary = "the absolute error: mean_b(sw * w * |label - pred|)";
    info.inputs = {required_input("pred", "predictions"), required_input("label", "targets, reshaped like pred"),
                   sample_weight_input()};
    info.check_shapes = default_check_shapes();
    set_callables<L1Loss>(info, fields(), call_pred_label);
    set_sampler(info, fields(), [](const L1LossOptions&, const Shape& shape, Sampler& s) {
        xt::xarray<double> pred = s.uniform(shape, -2, 2);
        // Away from the kink of |label - pred| at 0.
        xt::xarray<double> label =
            s.uniform_where(shape, -2, 2, [&](double v, std::size_t i) { return std::abs(v - pred.flat(i)) > 0.05; });
        return ArrayMap<double>{{"pred", std::move(pred)},
                                {"label", std::move(label)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
