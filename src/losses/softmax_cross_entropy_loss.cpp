// SoftmaxCrossEntropyLoss: cross-entropy of a softmax, sparse or dense labels.
#include "xtape/losses/softmax_cross_entropy_loss.hpp"

#include <algorithm>

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
         detail::field("label_smoothing", &Options::label_smoothing, "s: the target becomes (1-s)*target + s/C, s in [0, 1)",
                       {"0.1"}),
         // Not in the default grid: with sparse_label=false it is an error.
         detail::field("ignore_index", &Options::ignore_index, "a sparse label to ignore, or None"),
         detail::weight_field<Options>(), detail::batch_axis_field<Options>()});
    return list;
}

// How the execution layer may run the graph: along axis 0 the softmax mixes the
// samples; otherwise the graph reads pred once each way or several times.
detail::GraphKind graph_kind(std::size_t axis, bool reads_pred_once) {
    return axis == 0           ? detail::GraphKind::mixes_samples
           : reads_pred_once ? detail::GraphKind::one_pass
                             : detail::GraphKind::several_passes;
}
}  // namespace

template <class T>
SoftmaxCrossEntropyLoss<T>::SoftmaxCrossEntropyLoss(const Options& options)
    : Loss<T>("SoftmaxCrossEntropyLoss", options.weight, options.batch_axis), options_(options) {
    if (!(options_.label_smoothing >= 0 && options_.label_smoothing < 1)) {
        throw ValueError(fmt::format("{}: label_smoothing must be in [0, 1), got {}", this->name(),
                                     options_.label_smoothing));
    }
    if (options_.ignore_index && !options_.sparse_label) {
        throw ValueError(fmt::format("{}: ignore_index={} needs sparse labels (sparse_label=true)", this->name(),
                                     *options_.ignore_index));
    }
}

template <class T>
Var<T> SoftmaxCrossEntropyLoss<T>::operator()(const Var<T>& pred, const Var<T>& label,
                                              std::optional<Var<T>> sample_weight,
                                              std::optional<Var<T>> class_weight) const {
    this->check_batch_axis(pred);
    const std::size_t axis = normalize_axis(options_.axis, pred.dimension(), this->name());
    const std::size_t num_classes = pred.shape()[axis];
    // The loss has pred's shape with `axis` of size 1 (the label has it without
    // `axis`, or the same): every check comes before anything is recorded.
    Shape without = pred.shape();
    without.erase(without.begin() + static_cast<std::ptrdiff_t>(axis));
    Shape kept = pred.shape();
    kept[axis] = 1;
    this->check_sample_weight(sample_weight, kept);
    if (class_weight && class_weight->shape() != Shape{num_classes}) {
        throw ShapeError(fmt::format("{}: class_weight of shape {} must have shape ({},), one weight per class of "
                                     "pred of shape {} along axis {}",
                                     this->name(), to_string(class_weight->shape()), num_classes,
                                     to_string(pred.shape()), options_.axis));
    }
    if (options_.sparse_label && label.shape() != without && label.shape() != kept) {
        throw ShapeError(fmt::format("{}: sparse label of shape {} does not fit pred of shape {} "
                                     "(expected {} or {})",
                                     this->name(), to_string(label.shape()), to_string(pred.shape()),
                                     to_string(without), to_string(kept)));
    }
    const bool beyond_gluon = options_.label_smoothing != 0 || options_.ignore_index || class_weight;
    if (beyond_gluon) return beyond_gluon_graph(pred, label, sample_weight, class_weight, axis, kept);
    detail::GraphInputs<T> in;
    in.add_rows(pred);
    if (options_.sparse_label) {
        check_class_indices(label.value(), num_classes, this->name(), "label");  // rejects bad labels now
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
    // A sparse label's graph reads pred once each way (logsumexp and pick), a dense one's several times.
    return detail::run_graph(*this, graph, in, graph_kind(axis, options_.sparse_label));
}

template <class T>
Var<T> SoftmaxCrossEntropyLoss<T>::beyond_gluon_graph(const Var<T>& pred, const Var<T>& label,
                                                      const std::optional<Var<T>>& sample_weight,
                                                      const std::optional<Var<T>>& class_weight, std::size_t axis,
                                                      const Shape& kept) const {
    detail::GraphInputs<T> in;
    in.add_rows(pred);
    std::optional<std::size_t> kept_mask;  // 1 where a sparse label counts, 0 where it is ignored
    if (options_.sparse_label) {
        if (options_.ignore_index) {
            // An ignored label may lie outside [0, C): it picks class 0, which the mask then drops.
            const T ignored = static_cast<T>(*options_.ignore_index);
            Tape<T>& tape = pred.tape();
            xt::xarray<T> classes = tape.buffer(label.shape());
            std::copy(label.value().begin(), label.value().end(), classes.begin());
            xt::xarray<T> mask = tape.buffer(classes.shape());
            for (std::size_t i = 0; i < classes.size(); ++i) {
                mask.flat(i) = classes.flat(i) == ignored ? T(0) : T(1);
                if (classes.flat(i) == ignored) classes.flat(i) = 0;
            }
            mask.reshape(kept);
            check_class_indices(classes, pred.shape()[axis], this->name(), "label");
            in.add_rows(tape.constant(std::move(classes)));
            kept_mask = in.add_rows(tape.constant(std::move(mask)));
        } else {
            check_class_indices(label.value(), pred.shape()[axis], this->name(), "label");
            in.add_rows(label);
        }
    } else {
        in.add_rows(reshape_like(label, pred, this->name(), "label"));
    }
    // class_weight (C,) as pred's rank, the classes along axis: it broadcasts to pred.
    Shape class_shape(pred.dimension(), 1);
    class_shape[axis] = pred.shape()[axis];
    const auto cw = class_weight ? std::optional<std::size_t>(in.add_weight(reshape(*class_weight, class_shape),
                                                                            pred.shape()))
                                 : std::nullopt;
    const auto sw = in.add_weight(sample_weight, kept);
    const T num_classes = static_cast<T>(pred.shape()[axis]);
    const auto graph = [self = *this, num_classes, kept_mask, cw, sw](std::span<const Var<T>> v) {
        const Options& o = self.options_;
        const T smoothing = static_cast<T>(o.label_smoothing);
        const Var<T> lp = o.from_logits ? v[0] : log_softmax(v[0], o.axis);
        const auto weights = detail::input_at(v, cw);
        Var<T> e;
        if (o.sparse_label) {
            // -((1-s) cw[label] lp[label] + s/C sum_c cw_c lp_c)
            const std::optional<Var<T>> class_weights =
                weights ? std::optional<Var<T>>(broadcast_to(*weights, v[0].shape())) : std::nullopt;
            Var<T> picked = pick(lp, v[1], o.axis, true);
            if (class_weights) picked = mul(pick(*class_weights, v[1], o.axis, true), picked);
            e = neg(mul(picked, T(1) - smoothing));
            if (smoothing != 0) {
                const Var<T> spread = class_weights ? dot(lp, *class_weights, {o.axis}, true) : sum(lp, {o.axis}, true);
                e = sub(e, mul(spread, smoothing / num_classes));
            }
        } else {
            // -sum_c cw_c ((1-s) y_c + s/C) lp_c
            Var<T> target = smoothing != 0 ? add(mul(v[1], T(1) - smoothing), smoothing / num_classes) : v[1];
            if (weights) target = mul(target, *weights);
            e = neg(dot(lp, target, {o.axis}, true));
        }
        if (!kept_mask) return self.batch_mean(self.apply_weighting(e, detail::input_at(v, sw), self.weight()));
        // The mean over each sample's kept positions; a sample with none kept sums to 0.
        const Var<T>& mask = v[*kept_mask];
        const Var<T> total = self.batch_sum(self.apply_weighting(mul(e, mask), detail::input_at(v, sw), self.weight()));
        return div(total, maximum(self.batch_sum(mask), T(1)));
    };
    // log_softmax, then the pick and the smoothed sum: several passes over pred, sparse labels or not.
    constexpr bool reads_pred_once = false;
    return detail::run_graph(*this, graph, in, graph_kind(axis, reads_pred_once));
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
                   sample_weight_input(),
                   {"class_weight", false, true, "a weight per class, shape (C,)"}};
    info.check_shapes = default_check_shapes();
    set_callables<SoftmaxCrossEntropyLoss>(info, fields(), [](const auto& loss, const auto& in) {
        return loss(in.required("pred"), in.required("label"), in.optional("sample_weight"),
                    in.optional("class_weight"));
    });
    info.differentiable_override = [name = info.name](const OptionMap& values, const std::string& input) {
        if (input == "label") return !fields().parse(name, values).sparse_label;
        return input == "pred" || input == "sample_weight" || input == "class_weight";
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
            // Every other label ignored, when an ignore_index is given.
            if (o.ignore_index) {
                for (std::size_t i = 0; i < label.size(); i += 2) label.flat(i) = *o.ignore_index;
            }
        } else {
            label = s.uniform(shape, 0, 1);
        }
        return ArrayMap<double>{{"pred", s.uniform(shape, -2, 2)},
                                {"label", std::move(label)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(loss_shape), 0.5, 1.5)},
                                {"class_weight", s.uniform(Shape{shape[axis]}, 0.5, 2)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
