// L2Loss: half the squared error, averaged per sample.
#include "xtape/losses/l2_loss.hpp"

#include <fmt/format.h>

#include "xtape/ops.hpp"

#include "graph_inputs.hpp"
#include "loss_infos.hpp"
#include "registry_support.hpp"

namespace xtape {

template <class T>
L2Loss<T>::L2Loss(const L2LossOptions& options) : Loss<T>("L2Loss", options.weight, options.batch_axis) {}

template <class T>
Var<T> L2Loss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    this->check_sample_weight(sample_weight, pred.shape());
    const std::vector<Var<T>> in{pred, reshape_like(label, pred, this->name(), "label")};
    // (pred - label)^2, Gluon's (label - pred)^2 exactly. Gluon scales by
    // weight/2; None is taken as 1 so the 1/2 always applies. One fused pass
    // each way, so not in chunks (Loss::evaluate): they would only add copies.
    const auto squared_error = [](auto v) { return square(v[0] - v[1]); };
    return this->weighted_batch_mean(in, squared_error, sample_weight, this->weight().value_or(1.0) / 2);
}

template <class T>
std::string L2Loss<T>::repr() const {
    return this->repr_head() + ")";
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
    info.options = {weight_option("1"), batch_axis_option()};
    info.check_shapes = default_check_shapes();
    set_callables<L2Loss>(
        info, [](const OptionReader& o) { return L2LossOptions{.weight = o.weight(), .batch_axis = o.batch_axis()}; },
        call_pred_label);
    set_sampler(info, [](const OptionReader&, const Shape& shape, Sampler& s) {
        return ArrayMap<double>{{"pred", s.uniform(shape, -2, 2)},
                                {"label", s.uniform(shape, -2, 2)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
