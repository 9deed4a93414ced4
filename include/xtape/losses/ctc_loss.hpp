// CTCLoss: the connectionist temporal classification loss, alignment-free, per sample.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/ctc_alignment.hpp"
#include "xtape/losses/loss.hpp"

namespace xtape {

/// How CTCLoss computes -log p: the fused alpha-beta op (ctc_nll, the default
/// and the faster, docs/performance.md) or the recursion composed from tape
/// primitives (ctc_nll_composed, the reference, which ExecutionScope(eager)
/// also chooses). Both give the same value and gradient.
enum class CtcImplementation { Fused, Composed };

/// Gluon's options of CTCLoss, with its defaults, and the implementation (not a Gluon option).
struct CTCLossOptions {
    /// The axes of pred: "NTC" or "TNC".
    std::string layout = "NTC";
    /// The axes of label: "NT" or "TN"; its N is the batch axis.
    std::string label_layout = "NT";
    /// Where the blank is: "last" (class C-1, labels [0, C-2], -1 pads; Gluon's
    /// CTCLoss) or "first" (class 0, labels [1, C-1], 0 pads; MXNet's ctc_loss, torch's blank=0).
    std::string blank_label = "last";
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// Which computation of -log p to use; both give the same results.
    CtcImplementation implementation = CtcImplementation::Fused;
};

/// CTCLoss: out_n = w * sw_n * (-log p(label_n | softmax(pred_n))), shape (N,),
/// summing over every CTC alignment (stay, advance, or skip the blank between two
/// different labels) in log space. The blank is channel C-1.
///
/// - pred: activations (N,T,C) for layout "NTC", (T,N,C) for "TNC"; log_softmax
///   over C is applied here.
/// - label: (N,L) for label_layout "NT", (L,N) for "TN", L <= T, classes in [0, C-2]
///   (blank_label "last") or [1, C-1] ("first"). Without label_lengths a row ends at
///   its first padding value (-1 for "last", 0 for "first"); with them the first
///   label_lengths[n] entries are used and the rest is ignored.
/// - pred_lengths (N,): sample n uses frames 0..pred_lengths[n]-1; later frames
///   get gradient exactly 0 and may hold anything, even NaN.
/// - An empty label gives -sum_t log p_blank(t). An infeasible sample (L_n plus
///   its adjacent repeats > its frames) gives loss 0 and gradient 0, as MXNet's
///   CPU code and torch's zero_infinity=True do.
/// - sample_weight must broadcast to (N,); it and the weight scale the per-sample loss.
///
/// Labels and lengths are not differentiable. Throws ValueError naming CTCLoss for
/// an unknown layout or blank_label (at construction), a label that is not a class
/// (the blank included) or not a whole
/// number, lengths that are not whole numbers in [0,T] / [0,L]; ShapeError for
/// L > T and mismatched shapes.
template <class T>
class CTCLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = CTCLossOptions;
    /// Builds the loss from Gluon's options.
    /// Throws ValueError naming CTCLoss for a layout, label_layout or blank_label it does not know.
    explicit CTCLoss(const CTCLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the inputs, the
    /// formula and what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> pred_lengths = std::nullopt,
                      std::optional<Var<T>> label_lengths = std::nullopt,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "CTCLoss(batch_axis=0, w=None, layout=NTC, label_layout=NT, blank_label=last)"; batch_axis is
    /// the label layout's N, as in Gluon.
    std::string repr() const;

    /// The `layout` option, parsed.
    CtcLayout layout() const { return layout_; }
    /// The `label_layout` option, parsed.
    CtcLabelLayout label_layout() const { return label_layout_; }
    /// The options it was built with.
    const CTCLossOptions& options() const { return options_; }

private:
    CTCLossOptions options_;
    CtcLayout layout_;
    CtcLabelLayout label_layout_;
    CtcBlank blank_;
};

}  // namespace xtape
