// L1Loss: the absolute error, averaged per sample.
#include "xtape/losses/l1_loss.hpp"

#include <cmath>

#include "xtape/fuse.hpp"
#include "xtape/ops.hpp"

#include "loss_infos.hpp"
#include "registry_support.hpp"

namespace xtape {

template <class T>
L1Loss<T>::L1Loss(const L1LossOptions& options) : Loss<T>("L1Loss", options.weight, options.batch_axis) {}

template <class T>
Var<T> L1Loss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    this->check_sample_weight(sample_weight, pred.shape());
    const std::vector<Var<T>> in{pred, reshape_like(label, pred, this->name(), "label")};
    // |pred - label|, Gluon's |label - pred| exactly. One fused pass each way,
    // so not in chunks (Loss::evaluate): they would only add copies.
    const auto absolute_error = [](auto v) { return abs(v[0] - v[1]); };
    return this->weighted_batch_mean(in, absolute_error, sample_weight);
}

template <class T>
std::string L1Loss<T>::repr() const {
    return this->repr_head() + ")";
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
    info.options = {weight_option("None"), batch_axis_option()};
    info.check_shapes = default_check_shapes();
    set_callables<L1Loss>(
        info, [](const OptionReader& o) { return L1LossOptions{.weight = o.weight(), .batch_axis = o.batch_axis()}; },
        call_pred_label);
    set_sampler(info, [](const OptionReader&, const Shape& shape, Sampler& s) {
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
