// CTCLoss: checks its inputs, runs the chosen CTC implementation, then weights per sample.
#include "xtape/losses/ctc_loss.hpp"

#include <algorithm>
#include <memory>

#include <fmt/format.h>
#include <xtensor/xmanipulation.hpp>

#include "xtape/losses/ctc_nll.hpp"
#include "xtape/ops.hpp"

#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
const detail::OptionFields<CTCLossOptions>& fields() {
    static const detail::OptionFields<CTCLossOptions> list(
        {detail::field("layout", &CTCLossOptions::layout, "axes of pred", {"TNC"}, {"NTC", "TNC"}),
         detail::field("label_layout", &CTCLossOptions::label_layout, "axes of label", {"TN"}, {"NT", "TN"}),
         detail::field("blank_label", &CTCLossOptions::blank_label, "the blank class: last (C-1) or first (0)",
                       {"first"}, {"last", "first"}),
         detail::weight_field<CTCLossOptions>()});
    return list;
}

// Gluon's batch_axis for CTCLoss: where N sits in the label layout.
std::ptrdiff_t batch_axis_of(std::string_view label_layout) {
    return parse_ctc_label_layout(label_layout) == CtcLabelLayout::TN ? 1 : 0;
}

CtcBlank parse_blank_label(const std::string& blank_label) {
    if (blank_label == "last") return CtcBlank::last;
    if (blank_label == "first") return CtcBlank::first;
    throw ValueError(fmt::format("CTCLoss: blank_label must be 'last' or 'first', got '{}'", blank_label));
}
}  // namespace

template <class T>
CTCLoss<T>::CTCLoss(const CTCLossOptions& options)
    : Loss<T>("CTCLoss", options.weight, batch_axis_of(options.label_layout)),
      options_(options),
      layout_(parse_ctc_layout(options.layout)),
      label_layout_(parse_ctc_label_layout(options.label_layout)),
      blank_(parse_blank_label(options.blank_label)) {}

template <class T>
Var<T> CTCLoss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> pred_lengths,
                              std::optional<Var<T>> label_lengths, std::optional<Var<T>> sample_weight) const {
    auto alignment = std::make_shared<const CtcAlignment>(
        read_ctc_inputs(pred.shape(), layout_, label.value(), label_layout_,
                        pred_lengths ? &pred_lengths->value() : nullptr,
                        label_lengths ? &label_lengths->value() : nullptr, blank_));
    // A bad sample_weight must throw before anything is recorded on the tape.
    if (sample_weight && !broadcasts_to(sample_weight->shape(), Shape{alignment->batch})) {
        throw ShapeError(fmt::format("CTCLoss: sample_weight of shape {} does not broadcast to the loss of shape {}",
                                     to_string(sample_weight->shape()), to_string(Shape{alignment->batch})));
    }
    const bool composed =
        options_.implementation == CtcImplementation::Composed || current_execution() == Execution::eager;
    // The alignment numbers the classes with the blank last: a first blank moves to the end.
    const std::size_t classes = pred.shape()[2];
    const Var<T> scores =
        blank_ == CtcBlank::first ? concat(std::vector<Var<T>>{slice(pred, 2, 1, classes), slice(pred, 2, 0, 1)}, 2)
                                  : pred;
    const Var<T> nll = composed ? ctc_nll_composed(scores, *alignment) : ctc_nll(scores, alignment);
    return this->apply_weighting(nll, sample_weight, this->weight());
}

template <class T>
std::string CTCLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class CTCLoss<float>;
template class CTCLoss<double>;

namespace detail {

namespace {
// Valid CTC inputs for a pred of `shape` in the options' layout: labels of 1 to
// min(T, 3) classes (none when C = 1) padded as blank_label says, and frame counts that
// leave every sample feasible, so that each one has a gradient.
ArrayMap<double> sample_ctc_inputs(const CTCLossOptions& o, const Shape& shape, Sampler& s) {
    if (shape.size() != 3) {
        throw ShapeError(fmt::format("CTCLoss: pred of shape {} must have 3 axes (N, T, C)", to_string(shape)));
    }
    const bool time_major = parse_ctc_layout(o.layout) == CtcLayout::TNC;
    const std::size_t batch = shape[time_major ? 1 : 0];
    const std::size_t frames = shape[time_major ? 0 : 1];
    const std::size_t classes = shape[2];
    const std::size_t width = std::min<std::size_t>(frames, 3);
    // A whole number drawn uniformly from [lo, hi].
    const auto draw = [&s](std::size_t lo, std::size_t hi) {
        return lo + static_cast<std::size_t>(s.classes(Shape{1}, hi - lo + 1)(0));
    };
    const bool blank_first = o.blank_label == "first";
    xt::xarray<double> label(Shape{batch, width}, blank_first ? 0.0 : -1.0);
    xt::xarray<double> pred_lengths(Shape{batch}, 0.0);
    xt::xarray<double> label_lengths(Shape{batch}, 0.0);
    for (std::size_t n = 0; n < batch; ++n) {
        const std::size_t length = classes > 1 && width > 0 ? draw(1, width) : 0;
        std::vector<std::int64_t> row;
        for (std::size_t j = 0; j < length; ++j) row.push_back(static_cast<std::int64_t>(draw(0, classes - 2)));
        // Drop labels until the repeats fit (a repeat needs a blank between).
        while (ctc_min_frames(row) > frames) row.pop_back();
        for (std::size_t j = 0; j < row.size(); ++j) label(n, j) = static_cast<double>(row[j] + (blank_first ? 1 : 0));
        label_lengths(n) = static_cast<double>(row.size());
        pred_lengths(n) = static_cast<double>(draw(std::max<std::size_t>(ctc_min_frames(row), 1), frames));
    }
    if (parse_ctc_label_layout(o.label_layout) == CtcLabelLayout::TN) {
        label = xt::transpose(label);
    }
    return ArrayMap<double>{{"pred", s.uniform(shape, -2, 2)},
                            {"label", std::move(label)},
                            {"pred_lengths", std::move(pred_lengths)},
                            {"label_lengths", std::move(label_lengths)},
                            {"sample_weight", s.uniform(Shape{batch}, 0.5, 1.5)}};
}
}  // namespace

LossInfo ctc_loss_info() {
    LossInfo info;
    info.name = "CTCLoss";
    info.summary = "connectionist temporal classification: -log p(label | softmax(pred)) over every alignment";
    info.inputs = {required_input("pred", "activations (N,T,C) for NTC, (T,N,C) for TNC; the blank is channel C-1 or 0"),
                   required_input("label", "classes in [0, C-2] padded by -1 (blank last) or [1, C-1] padded by 0 (blank first); (N,L) for NT, (L,N) for TN", false),
                   {"pred_lengths", false, false, "frames used by each sample, (N,)"},
                   {"label_lengths", false, false, "label entries used by each sample, (N,)"},
                   sample_weight_input()};
    info.check_shapes = {Shape{2, 5, 4}, Shape{3, 4, 3}};
    set_callables<CTCLoss>(info, fields(), [](const auto& loss, const auto& in) {
        return loss(in.required("pred"), in.required("label"), in.optional("pred_lengths"),
                    in.optional("label_lengths"), in.optional("sample_weight"));
    });
    set_sampler(info, fields(), sample_ctc_inputs);
    return info;
}

}  // namespace detail

}  // namespace xtape
