// KLDivLoss: the Kullback-Leibler divergence of a label distribution from a predicted one.
#include "xtape/losses/kl_div_loss.hpp"

#include <fmt/format.h>

#include "xtape/ops.hpp"

namespace xtape {

template <class T>
KLDivLoss<T>::KLDivLoss(const KLDivLossOptions& options)
    : Loss<T>("KLDivLoss", options.weight, options.batch_axis),
      from_logits_(options.from_logits),
      axis_(options.axis) {}

template <class T>
Var<T> KLDivLoss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    normalize_axis(axis_, pred.dimension(), this->name());
    const Var<T> lp = from_logits_ ? pred : log_softmax(pred, axis_);
    const Var<T> y = reshape_like(label, pred, this->name(), "label");
    // The 1e-12 keeps log(y) finite at y = 0, where y*log(y) is then 0.
    const Var<T> e = mul(y, sub(log(add(y, T(1e-12))), lp));
    return this->batch_mean(this->apply_weighting(e, sample_weight));
}

template <class T>
std::string KLDivLoss<T>::repr() const {
    return fmt::format("{}, from_logits={}, axis={})", this->repr_head(), from_logits_, axis_);
}

template class KLDivLoss<float>;
template class KLDivLoss<double>;

}  // namespace xtape
