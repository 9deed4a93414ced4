// SoftmaxCrossEntropyLoss: cross-entropy of a softmax, sparse or dense labels.
#include "xtape/losses/softmax_cross_entropy_loss.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
using Options = SoftmaxCrossEntropyLossOptions;
const detail::OptionFields<Options>& fields() {
    static const detail::OptionFields<Options> list(
        {detail::field("axis", &Options::axis, "the class axis", {"1"}),
         detail::field("sparse_label", &Options::sparse_label, "labels are class indices", {"false"}),
         detail::field("from_logits", &Options::from_logits, "pred holds log-probabilities", {"true"}),
         detail::weight_field<Options>(), detail::batch_axis_field<Options>()});
    return list;
}
}  // namespace

template <class T>
SoftmaxCrossEntropyLoss<T>::SoftmaxCrossEntropyLoss(const Options& options)
    : Loss<T>("SoftmaxCrossEntropyLoss", options.weight, options.batch_axis), options_(options) {}

template <class T>
Var<T> SoftmaxCrossEntropyLoss<T>::operator()(const Var<T>& pred, const Var<T>& label,
                                              std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    const std::size_t axis = normalize_axis(options_.axis, pred.dimension(), this->name());
    // The loss has pred's shape with `axis` of size 1 (the label has it without
    // `axis`, or the same): every check comes before anything is recorded.
    Shape without = pred.shape();
    without.erase(without.begin() + static_cast<std::ptrdiff_t>(axis));
    Shape kept = pred.shape();
    kept[axis] = 1;
    this->check_sample_weight(sample_weight, kept);
    detail::GraphInputs<T> in;
    in.add_rows(pred);
    if (options_.sparse_label) {
        if (label.shape() != without && label.shape() != kept) {
            throw ShapeError(fmt::format("{}: sparse label of shape {} does not fit pred of shape {} "
                                         "(expected {} or {})",
                                         this->name(), to_string(label.shape()), to_string(pred.shape()),
                                         to_string(without), to_string(kept)));
        }
        class_indices(label.value(), pred.shape()[axis], this->name(), "label");  // rejects bad labels now
        in.add_rows(label);
    } else {
        in.add_rows(reshape_like(label, pred, this->name(), "label"));
    }
    const auto sw = in.add_weight(sample_weight, kept);
    const auto graph = [self = *this, axis, sw](std::span<const Var<T>> v) {
        const Options& o = self.options_;
        Var<T> e;
        if (o.sparse_label) {
            // -log_softmax(x)[label] = logsumexp(x) - x[label]: no array of log-probabilities,
            // and the backward is one exp pass (pick's gradient lands in logsumexp's, recorded after it).
            const Var<T> picked = pick(v[0], v[1], o.axis, true);
            e = o.from_logits ? neg(picked) : sub(logsumexp(v[0], {o.axis}, true), picked);
        } else {
            const Var<T> lp = o.from_logits ? v[0] : log_softmax(v[0], o.axis);
            e = neg(dot(lp, v[1], {o.axis}, true));  // -sum(log p * label) along axis
        }
        return self.batch_mean(self.apply_weighting(e, detail::input_at(v, sw), self.weight()));
    };
    // Along axis 0 the softmax mixes the samples; a sparse label's graph reads
    // pred once each way, a dense one's several times.
    const detail::GraphKind kind = axis == 0              ? detail::GraphKind::mixes_samples
                                   : options_.sparse_label ? detail::GraphKind::one_pass
                                                           : detail::GraphKind::several_passes;
    return detail::run_graph(*this, graph, in, kind);
}

template <class T>
std::string SoftmaxCrossEntropyLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class SoftmaxCrossEntropyLoss<float>;
template class SoftmaxCrossEntropyLoss<double>;

namespace detail {

LossInfo softmax_cross_entropy_loss_info() {
    LossInfo info;
    info.name = "SoftmaxCrossEntropyLoss";
    info.aliases = {"SoftmaxCELoss"};
    info.summary = "cross-entropy of softmax(pred) against class indices or distributions";
    info.inputs = {required_input("pred", "logits, or log-probabilities when from_logits"),
                   {"label", true, false,
                    "class indices (pred's shape without axis), or distributions like pred when "
                    "sparse_label=false (then differentiable)"},
                   sample_weight_input()};
    info.check_shapes = default_check_shapes();
    set_callables<SoftmaxCrossEntropyLoss>(info, fields(), call_pred_label);
    info.differentiable_override = [name = info.name](const OptionMap& values, const std::string& input) {
        if (input == "label") return !fields().parse(name, values).sparse_label;
        return input == "pred" || input == "sample_weight";
    };
    set_sampler(info, fields(), [](const Options& o, const Shape& shape, Sampler& s) {
        const std::size_t axis = normalize_axis(o.axis, shape.size(), "SoftmaxCrossEntropyLoss");
        Shape loss_shape = shape;  // the elementwise loss keeps the class axis with size 1
        loss_shape[axis] = 1;
        xt::xarray<double> label;
        if (o.sparse_label) {
            Shape without = shape;
            without.erase(without.begin() + static_cast<std::ptrdiff_t>(axis));
            label = s.classes(without, shape[axis]);
        } else {
            label = s.uniform(shape, 0, 1);
        }
        return ArrayMap<double>{{"pred", s.uniform(shape, -2, 2)},
                                {"label", std::move(label)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(loss_shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
