// PoissonNLLLoss: the negative log-likelihood of a Poisson target given a rate or log-rate.
#include "xtape/losses/poisson_nll_loss.hpp"

#include <numbers>

#include <fmt/format.h>

#include "xtape/ops.hpp"

namespace xtape {

template <class T>
PoissonNLLLoss<T>::PoissonNLLLoss(const PoissonNLLLossOptions& options)
    : Loss<T>("PoissonNLLLoss", options.weight, options.batch_axis),
      from_logits_(options.from_logits),
      compute_full_(options.compute_full),
      epsilon_(options.epsilon) {}

namespace {
// Stirling's approximation of log(t!), t*log(t) - t + 0.5*log(2*pi*t), where
// t > 1 and 0 elsewhere. It is evaluated at max(t, 1) so that the masked-out
// branch never sees log(0): its zero gradient then stays zero instead of 0*inf.
template <class T>
Var<T> stirling_term(const Var<T>& t) {
    const Mask above_one = t.value() > T(1);
    const Var<T> safe = maximum(t, T(1));
    const Var<T> log_safe = log(safe);
    const Var<T> term = add(sub(mul(safe, log_safe), safe),
                            mul(add(log_safe, static_cast<T>(std::log(2 * std::numbers::pi))), T(0.5)));
    return xtape::where(above_one, term, t.tape().constant(xt::xarray<T>(T(0))));
}
}  // namespace

template <class T>
Var<T> PoissonNLLLoss<T>::operator()(const Var<T>& pred, const Var<T>& target,
                                     std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    const Var<T> t = reshape_like(target, pred, this->name(), "target");
    Var<T> e = from_logits_ ? sub(exp(pred), mul(t, pred))
                            : sub(pred, mul(t, log(add(pred, static_cast<T>(epsilon_)))));
    if (compute_full_) e = add(e, stirling_term(t));
    // The mean over every element, shape (1,), as the seed does.
    return reshape(mean(this->apply_weighting(e, sample_weight)), Shape{1});
}

template <class T>
std::string PoissonNLLLoss<T>::repr() const {
    return fmt::format("{}, from_logits={}, compute_full={}, epsilon={})", this->repr_head(), from_logits_,
                       compute_full_, epsilon_);
}

template class PoissonNLLLoss<float>;
template class PoissonNLLLoss<double>;

}  // namespace xtape
