// CTCLoss: checks its inputs, runs the chosen CTC implementation, then weights per sample.
#include "xtape/losses/ctc_loss.hpp"

#include <memory>

#include <fmt/format.h>

#include "xtape/losses/ctc_nll.hpp"

namespace xtape {

namespace {
// Gluon's batch_axis for CTCLoss: where N sits in the label layout.
std::ptrdiff_t batch_axis_of(std::string_view label_layout) {
    return parse_ctc_label_layout(label_layout) == CtcLabelLayout::TN ? 1 : 0;
}

const char* name_of(CtcLayout layout) { return layout == CtcLayout::TNC ? "TNC" : "NTC"; }
const char* name_of(CtcLabelLayout layout) { return layout == CtcLabelLayout::TN ? "TN" : "NT"; }
}  // namespace

template <class T>
CTCLoss<T>::CTCLoss(const CTCLossOptions& options)
    : Loss<T>("CTCLoss", options.weight, batch_axis_of(options.label_layout)),
      layout_(parse_ctc_layout(options.layout)),
      label_layout_(parse_ctc_label_layout(options.label_layout)),
      implementation_(options.implementation) {}

template <class T>
Var<T> CTCLoss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> pred_lengths,
                              std::optional<Var<T>> label_lengths, std::optional<Var<T>> sample_weight) const {
    auto alignment = std::make_shared<const CtcAlignment>(
        read_ctc_inputs(pred.shape(), layout_, label.value(), label_layout_,
                        pred_lengths ? &pred_lengths->value() : nullptr,
                        label_lengths ? &label_lengths->value() : nullptr));
    const Var<T> nll = implementation_ == CtcImplementation::Fused ? ctc_nll(pred, alignment)
                                                                   : ctc_nll_composed(pred, *alignment);
    return this->apply_weighting(nll, sample_weight);
}

template <class T>
std::string CTCLoss<T>::repr() const {
    return fmt::format("{}, layout={}, label_layout={})", this->repr_head(), name_of(layout_),
                       name_of(label_layout_));
}

template class CTCLoss<float>;
template class CTCLoss<double>;

}  // namespace xtape
