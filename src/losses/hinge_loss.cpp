// HingeLoss and SquaredHingeLoss: max(0, margin - pred*label), plain or squared.
#include "xtape/losses/hinge_loss.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xtape/fuse.hpp"
#include "xtape/ops.hpp"

#include "loss_infos.hpp"
#include "registry_support.hpp"

namespace xtape {

namespace {
// Both losses: mean_b(sw * w * h) with h = max(0, margin - pred*label), squared
// for SquaredHingeLoss; the label is reshaped like pred.
template <class T, class HingeLike>
Var<T> hinge_loss(const HingeLike& loss, double margin, bool squared, const Var<T>& pred, const Var<T>& label,
                  const std::optional<Var<T>>& sample_weight) {
    loss.check_batch_axis(pred);
    loss.check_sample_weight(sample_weight, pred.shape());
    const std::vector<Var<T>> in{pred, reshape_like(label, pred, loss.name(), "label")};
    const auto hinge = [margin, squared](auto v) {
        const ElementwiseExpr h = relu(rsub(margin, mul(v[0], v[1])));
        return squared ? square(h) : h;
    };
    // One fused pass each way, so not in chunks (Loss::evaluate): they would only add copies.
    return loss.weighted_batch_mean(in, hinge, sample_weight);
}
}  // namespace

template <class T>
HingeLoss<T>::HingeLoss(const HingeLossOptions& options)
    : Loss<T>("HingeLoss", options.weight, options.batch_axis), margin_(options.margin) {}

template <class T>
Var<T> HingeLoss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    return hinge_loss(*this, margin_, false, pred, label, sample_weight);
}

template <class T>
std::string HingeLoss<T>::repr() const {
    return fmt::format("{}, margin={})", this->repr_head(), margin_);
}

template <class T>
SquaredHingeLoss<T>::SquaredHingeLoss(const HingeLossOptions& options)
    : Loss<T>("SquaredHingeLoss", options.weight, options.batch_axis), margin_(options.margin) {}

template <class T>
Var<T> SquaredHingeLoss<T>::operator()(const Var<T>& pred, const Var<T>& label,
                                       std::optional<Var<T>> sample_weight) const {
    return hinge_loss(*this, margin_, true, pred, label, sample_weight);
}

template <class T>
std::string SquaredHingeLoss<T>::repr() const {
    return fmt::format("{}, margin={})", this->repr_head(), margin_);
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
    info.options = {{"margin", OptionType::Real, "1", {}, {"1", "2"}, "the margin pred*label must exceed"},
                    weight_option("None"),
                    batch_axis_option()};
    info.check_shapes = default_check_shapes();
    set_callables<L>(
        info,
        [](const OptionReader& o) {
            return HingeLossOptions{.margin = o.get_real("margin"), .weight = o.weight(), .batch_axis = o.batch_axis()};
        },
        call_pred_label);
    set_sampler(info, [](const OptionReader& o, const Shape& shape, Sampler& s) {
        const double margin = o.get_real("margin");
        xt::xarray<double> label = s.signs(shape);
        // Away from the kink at pred*label = margin.
        xt::xarray<double> pred = s.uniform_where(
            shape, -3, 3, [&](double x, std::size_t i) { return std::abs(margin - x * label.flat(i)) > 0.05; });
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
