// TripletLoss: pull the positive closer than the negative by a margin (squared distances).
#include "xtape/losses/triplet_loss.hpp"

#include <fmt/format.h>

#include "xtape/ops.hpp"

namespace xtape {

template <class T>
TripletLoss<T>::TripletLoss(const TripletLossOptions& options)
    : Loss<T>("TripletLoss", options.weight, options.batch_axis), margin_(options.margin) {}

template <class T>
Var<T> TripletLoss<T>::operator()(const Var<T>& pred, const Var<T>& positive, const Var<T>& negative,
                                  std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    const Var<T> p = reshape_like(positive, pred, this->name(), "positive");
    const Var<T> n = reshape_like(negative, pred, this->name(), "negative");
    const Var<T> s = this->batch_sum(sub(square(sub(p, pred)), square(sub(n, pred))));
    // Per sample already: weighting comes after the reduction, with no mean.
    return this->apply_weighting(relu(add(s, static_cast<T>(margin_))), sample_weight);
}

template <class T>
std::string TripletLoss<T>::repr() const {
    return fmt::format("{}, margin={})", this->repr_head(), margin_);
}

template class TripletLoss<float>;
template class TripletLoss<double>;

}  // namespace xtape
