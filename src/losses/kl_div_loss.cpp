// KLDivLoss: the Kullback-Leibler divergence of a label distribution from a predicted one.
#include "xtape/losses/kl_div_loss.hpp"

#include <fmt/format.h>

#include "xtape/fuse.hpp"
#include "xtape/ops.hpp"

#include "graph_inputs.hpp"
#include "loss_infos.hpp"
#include "registry_support.hpp"

namespace xtape {

template <class T>
KLDivLoss<T>::KLDivLoss(const KLDivLossOptions& options)
    : Loss<T>("KLDivLoss", options.weight, options.batch_axis),
      from_logits_(options.from_logits),
      axis_(options.axis) {}

template <class T>
Var<T> KLDivLoss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    this->check_sample_weight(sample_weight, pred.shape());
    const std::size_t axis = normalize_axis(axis_, pred.dimension(), this->name());
    const auto in = detail::pred_label_inputs(pred, label, sample_weight, this->name());
    const auto sw = in.sample_weight_at();
    const auto graph = [self = *this, sw](std::span<const Var<T>> v) {
        const Var<T>& y = v[1];
        const Var<T> lp = self.from_logits_ ? v[0] : log_softmax(v[0], self.axis_);
        // The 1e-12 keeps log(y) finite at y = 0, where y*log(y) is then 0.
        const auto divergence = [](auto in) { return in[0] * (log(in[0] + 1e-12) - in[1]); };
        return self.weighted_batch_mean(std::vector<Var<T>>{y, lp}, divergence, detail::input_at(v, sw));
    };
    // With logits the graph is one fused pass each way, which chunks would only
    // add copies to; a softmax along the batch axis mixes the samples.
    return this->evaluate(in.vars(), in.splits(), graph, !from_logits_ && axis != 0);
}

template <class T>
std::string KLDivLoss<T>::repr() const {
    return fmt::format("{}, from_logits={}, axis={})", this->repr_head(), from_logits_, axis_);
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
    info.options = {{"from_logits", OptionType::Bool, "true", {}, {"true", "false"}, "pred holds log-probabilities"},
                    {"axis", OptionType::Int, "-1", {}, {"-1", "1"}, "the class axis of log_softmax"},
                    weight_option("None"),
                    batch_axis_option()};
    info.check_shapes = default_check_shapes();
    set_callables<KLDivLoss>(
        info,
        [](const OptionReader& o) {
            return KLDivLossOptions{.from_logits = o.get_bool("from_logits"),
                                    .axis = o.get_int("axis"),
                                    .weight = o.weight(),
                                    .batch_axis = o.batch_axis()};
        },
        call_pred_label);
    set_sampler(info, [](const OptionReader&, const Shape& shape, Sampler& s) {
        // Labels away from 0, where log(label + 1e-12) curves too sharply for finite differences.
        return ArrayMap<double>{{"pred", s.uniform(shape, -2, 0)},
                                {"label", s.uniform(shape, 0.05, 1)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
