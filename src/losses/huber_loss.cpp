// HuberLoss: quadratic near zero, linear beyond rho.
#include "xtape/losses/huber_loss.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "loss_infos.hpp"
#include "registry_support.hpp"

namespace xtape {

template <class T>
HuberLoss<T>::HuberLoss(const HuberLossOptions& options)
    : Loss<T>("HuberLoss", options.weight, options.batch_axis), rho_(options.rho) {
    if (!(rho_ > 0)) throw ValueError(fmt::format("HuberLoss: rho must be positive, got {}", rho_));
}

template <class T>
Var<T> HuberLoss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    this->check_sample_weight(sample_weight, pred.shape());
    const std::vector<Var<T>> in{pred, reshape_like(label, pred, this->name(), "label")};
    // a^2/(2 rho) up to rho, a - rho/2 beyond, a = |label - pred|: the Huber
    // function is one elementwise primitive, as smooth_l1 is in MXNet; of
    // pred - label, since it is even. One fused pass each way, so not in
    // chunks (Loss::evaluate): they would only add copies.
    const auto huber = [rho = static_cast<double>(static_cast<T>(rho_))](auto v) { return smooth_l1(v[0] - v[1], rho); };
    return this->weighted_batch_mean(in, huber, sample_weight);
}

template <class T>
std::string HuberLoss<T>::repr() const {
    return fmt::format("{}, rho={})", this->repr_head(), rho_);
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
    info.options = {{"rho", OptionType::Real, "1", {}, {"1", "0.5"}, "where the loss turns linear (> 0)"},
                    weight_option("None"),
                    batch_axis_option()};
    info.check_shapes = default_check_shapes();
    set_callables<HuberLoss>(
        info,
        [](const OptionReader& o) {
            return HuberLossOptions{.rho = o.get_real("rho"), .weight = o.weight(), .batch_axis = o.batch_axis()};
        },
        call_pred_label);
    set_sampler(info, [](const OptionReader& o, const Shape& shape, Sampler& s) {
        const double rho = o.get_real("rho");
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
