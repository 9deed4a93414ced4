// SoftmaxCrossEntropyLoss: cross-entropy of a softmax, sparse or dense labels.
#include "xtape/losses/softmax_cross_entropy_loss.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "graph_inputs.hpp"
#include "loss_infos.hpp"
#include "registry_support.hpp"

namespace xtape {

template <class T>
SoftmaxCrossEntropyLoss<T>::SoftmaxCrossEntropyLoss(const SoftmaxCrossEntropyLossOptions& options)
    : Loss<T>("SoftmaxCrossEntropyLoss", options.weight, options.batch_axis),
      axis_(options.axis),
      sparse_label_(options.sparse_label),
      from_logits_(options.from_logits) {}

template <class T>
Var<T> SoftmaxCrossEntropyLoss<T>::operator()(const Var<T>& pred, const Var<T>& label,
                                              std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    const std::size_t axis = normalize_axis(axis_, pred.dimension(), this->name());
    // The loss has pred's shape with `axis` of size 1 (the label has it without
    // `axis`, or the same): every check comes before anything is recorded.
    Shape without = pred.shape();
    without.erase(without.begin() + static_cast<std::ptrdiff_t>(axis));
    Shape kept = pred.shape();
    kept[axis] = 1;
    this->check_sample_weight(sample_weight, kept);
    detail::GraphInputs<T> in;
    in.add_rows(pred);
    if (sparse_label_) {
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
        Var<T> e;
        if (self.sparse_label_) {
            Shape without = v[0].shape();
            without.erase(without.begin() + static_cast<std::ptrdiff_t>(axis));
            IndexArray index = class_indices(v[1].value(), v[0].shape()[axis], self.name(), "label");
            index.reshape(without);
            const Var<T> picked = pick(v[0], index, self.axis_, true);
            // -log_softmax(x)[label] = logsumexp(x) - x[label]: no array of log-probabilities,
            // and the backward is one exp pass (pick's gradient lands in logsumexp's, recorded after it).
            e = self.from_logits_ ? neg(picked) : sub(logsumexp(v[0], {self.axis_}, true), picked);
        } else {
            const Var<T> lp = self.from_logits_ ? v[0] : log_softmax(v[0], self.axis_);
            e = neg(dot(lp, v[1], {self.axis_}, true));  // -sum(log p * label) along axis
        }
        return self.weighted_batch_mean(e, detail::input_at(v, sw));
    };
    // The softmax and the pick run along `axis`: chunks of samples must not cut
    // it. A sparse label's graph reads pred once each way, which chunks would
    // only add copies to.
    return this->evaluate(in.vars(), in.splits(), graph, axis != 0 && !sparse_label_);
}

template <class T>
std::string SoftmaxCrossEntropyLoss<T>::repr() const {
    return fmt::format("{}, axis={}, sparse_label={}, from_logits={})", this->repr_head(), axis_, sparse_label_,
                       from_logits_);
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
    info.options = {{"axis", OptionType::Int, "-1", {}, {"-1", "1"}, "the class axis"},
                    {"sparse_label", OptionType::Bool, "true", {}, {"true", "false"}, "labels are class indices"},
                    {"from_logits", OptionType::Bool, "false", {}, {"false", "true"}, "pred holds log-probabilities"},
                    weight_option("None"),
                    batch_axis_option()};
    info.check_shapes = default_check_shapes();
    set_callables<SoftmaxCrossEntropyLoss>(
        info,
        [](const OptionReader& o) {
            return SoftmaxCrossEntropyLossOptions{.axis = o.get_int("axis"),
                                                  .sparse_label = o.get_bool("sparse_label"),
                                                  .from_logits = o.get_bool("from_logits"),
                                                  .weight = o.weight(),
                                                  .batch_axis = o.batch_axis()};
        },
        call_pred_label);
    info.differentiable_override = [name = info.name, options = info.options](const OptionMap& values,
                                                                              const std::string& input) {
        if (input == "label") return !OptionReader(name, options, values).get_bool("sparse_label");
        return input == "pred" || input == "sample_weight";
    };
    set_sampler(info, [](const OptionReader& o, const Shape& shape, Sampler& s) {
        const std::size_t axis = normalize_axis(o.get_int("axis"), shape.size(), "SoftmaxCrossEntropyLoss");
        Shape loss_shape = shape;  // the elementwise loss keeps the class axis with size 1
        loss_shape[axis] = 1;
        xt::xarray<double> label;
        if (o.get_bool("sparse_label")) {
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
