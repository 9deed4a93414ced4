// HingeLoss and SquaredHingeLoss: max(0, margin - pred*label), plain or squared.
#include "xtape/losses/hinge_loss.hpp"

#include <fmt/format.h>

#include "xtape/ops.hpp"

namespace xtape {

namespace {
// max(0, margin - pred*label), with the label reshaped like pred.
template <class T>
Var<T> hinge(const Var<T>& pred, const Var<T>& label, double margin, const char* loss) {
    const Var<T> y = reshape_like(label, pred, loss, "label");
    return relu(rsub(static_cast<T>(margin), mul(pred, y)));
}
}  // namespace

template <class T>
HingeLoss<T>::HingeLoss(const HingeLossOptions& options)
    : Loss<T>("HingeLoss", options.weight, options.batch_axis), margin_(options.margin) {}

template <class T>
Var<T> HingeLoss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    const Var<T> e = hinge(pred, label, margin_, this->name());
    return this->batch_mean(this->apply_weighting(e, sample_weight));
}

template <class T>
std::string HingeLoss<T>::repr() const {
    return fmt::format("{}, margin={})", this->repr_head(), margin_);
}

template <class T>
SquaredHingeLoss<T>::SquaredHingeLoss(const HingeLossOptions& options)
    : Loss<T>("SquaredHingeLoss", options.weight, options.batch_axis), margin_(options.margin) {}

template <class T>
Var<T> SquaredHingeLoss<T>::operator()(const Var<T>& pred, const Var<T>& label,
                                       std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    const Var<T> e = square(hinge(pred, label, margin_, this->name()));
    return this->batch_mean(this->apply_weighting(e, sample_weight));
}

template <class T>
std::string SquaredHingeLoss<T>::repr() const {
    return fmt::format("{}, margin={})", this->repr_head(), margin_);
}

template class HingeLoss<float>;
template class HingeLoss<double>;
template class SquaredHingeLoss<float>;
template class SquaredHingeLoss<double>;

}  // namespace xtape
