// HuberLoss: quadratic near zero, linear beyond rho.
#include "xtape/losses/huber_loss.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
const detail::OptionFields<HuberLossOptions>& fields() {
    static const detail::OptionFields<HuberLossOptions> list(
        {detail::field("rho", &HuberLossOptions::rho, "where the loss turns linear (> 0)", {"0.5"}),
         detail::weight_field<HuberLossOptions>(), detail::batch_axis_field<HuberLossOptions>()});
    return list;
}
}  // namespace

template <class T>
HuberLoss<T>::HuberLoss(const HuberLossOptions& options)
    : Loss<T>("HuberLoss", options.weight, options.batch_axis), options_(options) {
    if (!(options_.rho > 0)) throw ValueError(fmt::format("HuberLoss: rho must be positive, got {}", options_.rho));
}

template <class T>
Var<T> HuberLoss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    // a^2/(2 rho) up to rho, a - rho/2 beyond, a = |label - pred|: the Huber
    // function is one primitive, as smooth_l1 is in MXNet; of pred - label, since it is even.
    const auto huber = [rho = static_cast<double>(static_cast<T>(options_.rho))](auto v) {
        return smooth_l1(v[0] - v[1], rho);
    };
    return detail::pred_label_mean(*this, huber, pred, label, sample_weight, this->weight());
}

template <class T>
std::string HuberLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class HuberLoss<float>;
template class HuberLoss<double>;

namespace detail {

LossInfo huber_loss_info() {
    LossInfo info;
    info.name = "HuberLoss";
    info.summary = "quadratic below rho, linear above: a > rho ? a - rho/2 : a^2/(2 rho), a = |label - pred|";
    info.inputs = {required_input("pred", "predictions"), required_input("label", "targets, reshaped like pred"),
                   sample_weight_input()};
    info.check_shapes = default_check_shapes();
    set_callables<HuberLoss>(info, fields(), call_pred_label);
    set_sampler(info, fields(), [](const HuberLossOptions& o, const Shape& shape, Sampler& s) {
        const double rho = o.rho;
        xt::xarray<double> pred = s.uniform(shape, -2, 2);
        // |label - pred| on both pieces, away from rho where they meet.
        const xt::xarray<double> gap = s.uniform_where(
            shape, -3 * rho, 3 * rho, [rho](double d, std::size_t) { return std::abs(std::abs(d) - rho) > 0.05 * rho; });
        xt::xarray<double> label = pred + gap;
        return ArrayMap<double>{{"pred", std::move(pred)},
                                {"label", std::move(label)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
