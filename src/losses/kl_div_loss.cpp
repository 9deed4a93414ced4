// KLDivLoss: the Kullback-Leibler divergence of a label distribution from a predicted one.
#include "xtape/losses/kl_div_loss.hpp"

#include <fmt/format.h>

#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
using Options = KLDivLossOptions;
const detail::OptionFields<Options>& fields() {
    static const detail::OptionFields<Options> list(
        {detail::field("from_logits", &Options::from_logits, "pred holds log-probabilities", {"false"}),
         detail::field("axis", &Options::axis, "the class axis of log_softmax", {"1"}),
         detail::weight_field<Options>(), detail::batch_axis_field<Options>()});
    return list;
}

// label * (log(label) - log-probabilities), of v = (label, log-probabilities). The
// 1e-12 keeps log(label) finite at label = 0, where label * log(label) is then 0.
const auto divergence = [](auto v) { return v[0] * (log(v[0] + 1e-12) - v[1]); };
}  // namespace

template <class T>
KLDivLoss<T>::KLDivLoss(const Options& options)
    : Loss<T>("KLDivLoss", options.weight, options.batch_axis), options_(options) {}

template <class T>
Var<T> KLDivLoss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    this->check_sample_weight(sample_weight, pred.shape());
    const std::size_t axis = normalize_axis(options_.axis, pred.dimension(), this->name());
    if (options_.from_logits) {
        const xt::svector<Var<T>, 4> in{reshape_like(label, pred, this->name(), "label"), pred};
        return detail::reduce_elementwise(*this, detail::elementwise<T>(divergence), std::span<const Var<T>>(in),
                                          sample_weight, this->weight(), detail::BatchReduction::mean);
    }
    const auto in = detail::pred_label_inputs(pred, label, sample_weight, this->name());
    const auto graph = [self = *this, sw = in.sample_weight_at()](std::span<const Var<T>> v) {
        const xt::svector<Var<T>, 4> operands{v[1], log_softmax(v[0], self.options_.axis)};
        return detail::reduce_elementwise(self, detail::elementwise<T>(divergence),
                                          std::span<const Var<T>>(operands), detail::input_at(v, sw), self.weight(),
                                          detail::BatchReduction::mean);
    };
    // A softmax along the batch axis mixes the samples.
    return detail::run_graph(*this, graph, in,
                             axis == 0 ? detail::GraphKind::mixes_samples : detail::GraphKind::several_passes);
}

template <class T>
std::string KLDivLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class KLDivLoss<float>;
template class KLDivLoss<double>;

namespace detail {

LossInfo kl_div_loss_info() {
    LossInfo info;
    info.name = "KLDivLoss";
    info.summary = "KL divergence of label from pred, averaged: mean_b(label * (log(label) - log_softmax(pred)))";
    info.inputs = {required_input("pred", "log-probabilities, or logits when from_logits=false"),
                   required_input("label", "non-negative target distribution, reshaped like pred"),
                   sample_weight_input()};
    info.check_shapes = default_check_shapes();
    set_callables<KLDivLoss>(info, fields(), call_pred_label);
    set_sampler(info, fields(), [](const Options&, const Shape& shape, Sampler& s) {
        // Labels away from 0, where log(label + 1e-12) curves too sharply for finite differences.
        return ArrayMap<double>{{"pred", s.uniform(shape, -2, 0)},
                                {"label", s.uniform(shape, 0.05, 1)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
