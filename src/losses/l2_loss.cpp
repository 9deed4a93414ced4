// L2Loss: half the squared error, averaged per sample.
#include "xtape/losses/l2_loss.hpp"

#include <fmt/format.h>

#include "xtape/ops.hpp"

namespace xtape {

template <class T>
L2Loss<T>::L2Loss(const L2LossOptions& options) : Loss<T>("L2Loss", options.weight, options.batch_axis) {}

template <class T>
Var<T> L2Loss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    const Var<T> y = reshape_like(label, pred, this->name(), "label");
    const Var<T> e = square(sub(y, pred));
    // Gluon scales by weight/2; None is taken as 1 so the 1/2 always applies.
    return this->batch_mean(this->apply_weighting(e, sample_weight, this->weight().value_or(1.0) / 2));
}

template <class T>
std::string L2Loss<T>::repr() const {
    return this->repr_head() + ")";
}

template class L2Loss<float>;
template class L2Loss<double>;

}  // namespace xtape
