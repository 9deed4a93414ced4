// L1Loss: the absolute error, averaged per sample.
#include "xtape/losses/l1_loss.hpp"

#include <cmath>

#include "xtape/ops.hpp"

#include "graph_inputs.hpp"
#include "loss_infos.hpp"
#include "registry_support.hpp"

namespace xtape {

template <class T>
L1Loss<T>::L1Loss(const L1LossOptions& options) : Loss<T>("L1Loss", options.weight, options.batch_axis) {}

template <class T>
Var<T> L1Loss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    this->check_sample_weight(sample_weight, pred.shape());
    const auto in = detail::pred_label_inputs(pred, label, sample_weight, this->name());
    const auto sw = in.sample_weight_at();
    return this->evaluate(in.vars(), in.splits(), [self = *this, sw](std::span<const Var<T>> v) {
        // |pred - label|, Gluon's |label - pred| exactly: pred first, so that its
        // gradient passes through sub without a negation pass.
        const Var<T> e = abs(sub(v[0], v[1]));
        return self.weighted_batch_mean(e, detail::input_at(v, sw));
    });
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
