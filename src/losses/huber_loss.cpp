// HuberLoss: quadratic near zero, linear beyond rho.
#include "xtape/losses/huber_loss.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

namespace xtape {

template <class T>
HuberLoss<T>::HuberLoss(const HuberLossOptions& options)
    : Loss<T>("HuberLoss", options.weight, options.batch_axis), rho_(options.rho) {
    if (!(rho_ > 0)) throw ValueError(fmt::format("HuberLoss: rho must be positive, got {}", rho_));
}

template <class T>
Var<T> HuberLoss<T>::operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    const Var<T> y = reshape_like(label, pred, this->name(), "label");
    const T rho = static_cast<T>(rho_);
    const Var<T> a = abs(sub(y, pred));
    const Mask linear = a.value() > rho;
    const Var<T> e = xtape::where(linear, add(a, -rho / 2), mul(square(a), T(1) / (2 * rho)));
    return this->batch_mean(this->apply_weighting(e, sample_weight));
}

template <class T>
std::string HuberLoss<T>::repr() const {
    return fmt::format("{}, rho={})", this->repr_head(), rho_);
}

template class HuberLoss<float>;
template class HuberLoss<double>;

}  // namespace xtape
