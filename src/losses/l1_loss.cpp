// L1Loss: the absolute error, averaged per sample.
#include "xtape/losses/l1_loss.hpp"

#include "xtape/ops.hpp"

namespace xtape {

template <class T>
L1Loss<T>::L1Loss(const L1LossOptions& options) : Loss<T>("L1Loss", options.weight, options.batch_axis) {}

template <class T>
Var<T> L1Loss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    const Var<T> y = reshape_like(label, pred, this->name(), "label");
    const Var<T> e = abs(sub(y, pred));
    return this->batch_mean(this->apply_weighting(e, sample_weight));
}

template <class T>
std::string L1Loss<T>::repr() const {
    return this->repr_head() + ")";
}

template class L1Loss<float>;
template class L1Loss<double>;

}  // namespace xtape
