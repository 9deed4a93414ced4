// SoftmaxCrossEntropyLoss: cross-entropy of a softmax, sparse or dense labels.
#include "xtape/losses/softmax_cross_entropy_loss.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

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
    const Var<T> lp = from_logits_ ? pred : log_softmax(pred, axis_);
    Var<T> e;
    if (sparse_label_) {
        // The label has pred's shape without `axis`, or with `axis` of size 1.
        Shape without = pred.shape();
        without.erase(without.begin() + static_cast<std::ptrdiff_t>(axis));
        Shape kept = pred.shape();
        kept[axis] = 1;
        if (label.shape() != without && label.shape() != kept) {
            throw ShapeError(fmt::format("{}: sparse label of shape {} does not fit pred of shape {} "
                                         "(expected {} or {})",
                                         this->name(), to_string(label.shape()), to_string(pred.shape()),
                                         to_string(without), to_string(kept)));
        }
        IndexArray index = class_indices(label.value(), pred.shape()[axis], this->name(), "label");
        index.reshape(without);
        e = neg(pick(lp, index, axis_, true));
    } else {
        const Var<T> y = reshape_like(label, pred, this->name(), "label");
        e = neg(sum(mul(lp, y), {axis_}, true));
    }
    return this->batch_mean(this->apply_weighting(e, sample_weight));
}

template <class T>
std::string SoftmaxCrossEntropyLoss<T>::repr() const {
    return fmt::format("{}, axis={}, sparse_label={}, from_logits={})", this->repr_head(), axis_, sparse_label_,
                       from_logits_);
}

template class SoftmaxCrossEntropyLoss<float>;
template class SoftmaxCrossEntropyLoss<double>;

}  // namespace xtape
