// LogisticLoss: the logistic loss for signed (-1/1) or binary (0/1) labels.
#include "xtape/losses/logistic_loss.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

namespace xtape {

template <class T>
LogisticLoss<T>::LogisticLoss(const LogisticLossOptions& options)
    : Loss<T>("LogisticLoss", options.weight, options.batch_axis), label_format_(options.label_format) {
    if (label_format_ != "signed" && label_format_ != "binary") {
        throw ValueError(fmt::format("LogisticLoss: label_format must be 'signed' or 'binary', got '{}'",
                                     label_format_));
    }
}

template <class T>
Var<T> LogisticLoss<T>::operator()(const Var<T>& pred, const Var<T>& label,
                                   std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    Var<T> y = reshape_like(label, pred, this->name(), "label");
    if (label_format_ == "signed") y = mul(add(y, T(1)), T(0.5));  // -1/1 -> 0/1
    const Var<T> e = sub(softplus(pred), mul(pred, y));
    return this->batch_mean(this->apply_weighting(e, sample_weight));
}

template <class T>
std::string LogisticLoss<T>::repr() const {
    return fmt::format("{}, label_format={})", this->repr_head(), label_format_);
}

template class LogisticLoss<float>;
template class LogisticLoss<double>;

}  // namespace xtape
