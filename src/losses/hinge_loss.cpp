// HingeLoss and SquaredHingeLoss: max(0, margin - pred*label), plain or squared.
#include "xtape/losses/hinge_loss.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
const detail::OptionFields<HingeLossOptions>& fields() {
    static const detail::OptionFields<HingeLossOptions> list(
        {detail::field("margin", &HingeLossOptions::margin, "the margin pred*label must exceed", {"2"}),
         detail::weight_field<HingeLossOptions>(), detail::batch_axis_field<HingeLossOptions>()});
    return list;
}

// Both losses: mean_b(sw * w * h) with h = max(0, margin - pred*label), squared
// for SquaredHingeLoss; the label is reshaped like pred.
template <class T>
Var<T> hinge_loss(const Loss<T>& loss, double margin, bool squared, const Var<T>& pred, const Var<T>& label,
                  const std::optional<Var<T>>& sample_weight) {
    const auto hinge = [margin, squared](auto v) {
        const auto h = relu(margin - v[0] * v[1]);
        return squared ? square(h) : h;
    };
    return detail::pred_label_mean(loss, hinge, pred, label, sample_weight, loss.weight());
}
}  // namespace

template <class T>
HingeLoss<T>::HingeLoss(const HingeLossOptions& options)
    : Loss<T>("HingeLoss", options.weight, options.batch_axis), options_(options) {}

template <class T>
Var<T> HingeLoss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    return hinge_loss(*this, options_.margin, false, pred, label, sample_weight);
}

template <class T>
std::string HingeLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template <class T>
SquaredHingeLoss<T>::SquaredHingeLoss(const HingeLossOptions& options)
    : Loss<T>("SquaredHingeLoss", options.weight, options.batch_axis), options_(options) {}

template <class T>
Var<T> SquaredHingeLoss<T>::operator()(const Var<T>& pred, const Var<T>& label,
                                       std::optional<Var<T>> sample_weight) const {
    return hinge_loss(*this, options_.margin, true, pred, label, sample_weight);
}

template <class T>
std::string SquaredHingeLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class HingeLoss<float>;
template class HingeLoss<double>;
template class SquaredHingeLoss<float>;
template class SquaredHingeLoss<double>;

namespace detail {

namespace {
// HingeLoss and SquaredHingeLoss take the same inputs and options.
template <template <class> class L>
LossInfo hinge_info(const char* name, const char* summary) {
    LossInfo info;
    info.name = name;
    info.summary = summary;
    info.inputs = {required_input("pred", "scores"), required_input("label", "signs -1 or 1, reshaped like pred"),
                   sample_weight_input()};
    info.check_shapes = default_check_shapes();
    set_callables<L>(info, fields(), call_pred_label);
    set_sampler(info, fields(), [](const HingeLossOptions& o, const Shape& shape, Sampler& s) {
        xt::xarray<double> label = s.signs(shape);
        // Away from the kink at pred*label = margin.
        xt::xarray<double> pred = s.uniform_where(
            shape, -3, 3, [&](double x, std::size_t i) { return std::abs(o.margin - x * label.flat(i)) > 0.05; });
        return ArrayMap<double>{{"pred", std::move(pred)},
                                {"label", std::move(label)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}
}  // namespace

LossInfo hinge_loss_info() {
    return hinge_info<HingeLoss>("HingeLoss", "max(0, margin - pred*label), averaged per sample");
}

LossInfo squared_hinge_loss_info() {
    return hinge_info<SquaredHingeLoss>("SquaredHingeLoss", "max(0, margin - pred*label)^2, averaged per sample");
}

}  // namespace detail

}  // namespace xtape
