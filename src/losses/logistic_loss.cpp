// LogisticLoss: the logistic loss for signed (-1/1) or binary (0/1) labels.
#include "xtape/losses/logistic_loss.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
const detail::OptionFields<LogisticLossOptions>& fields() {
    static const detail::OptionFields<LogisticLossOptions> list(
        {detail::weight_field<LogisticLossOptions>(), detail::batch_axis_field<LogisticLossOptions>(),
         detail::field("label_format", &LogisticLossOptions::label_format, "labels in {-1, 1} or {0, 1}", {"binary"},
                       {"signed", "binary"})});
    return list;
}
}  // namespace

template <class T>
LogisticLoss<T>::LogisticLoss(const LogisticLossOptions& options)
    : Loss<T>("LogisticLoss", options.weight, options.batch_axis), options_(options) {
    if (options_.label_format != "signed" && options_.label_format != "binary") {
        throw ValueError(fmt::format("LogisticLoss: label_format must be 'signed' or 'binary', got '{}'",
                                     options_.label_format));
    }
}

template <class T>
Var<T> LogisticLoss<T>::operator()(const Var<T>& pred, const Var<T>& label,
                                   std::optional<Var<T>> sample_weight) const {
    const auto logistic = [is_signed = options_.label_format == "signed"](auto v) {
        const auto& x = v[0];
        const auto y = is_signed ? (v[1] + 1.0) * 0.5 : v[1];  // -1/1 -> 0/1
        return softplus(x) - x * y;
    };
    return detail::pred_label_mean(*this, logistic, pred, label, sample_weight, this->weight());
}

template <class T>
std::string LogisticLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class LogisticLoss<float>;
template class LogisticLoss<double>;

namespace detail {

LossInfo logistic_loss_info() {
    LossInfo info;
    info.name = "LogisticLoss";
    info.summary = "log(1 + exp(-pred*label)) for signed labels, binary cross-entropy of logits for 0/1 labels";
    info.inputs = {required_input("pred", "logits"),
                   required_input("label", "-1/1 (signed) or 0/1 (binary), reshaped like pred"),
                   sample_weight_input()};
    info.check_shapes = default_check_shapes();
    set_callables<LogisticLoss>(info, fields(), call_pred_label);
    set_sampler(info, fields(), [](const LogisticLossOptions& o, const Shape& shape, Sampler& s) {
        xt::xarray<double> label = o.label_format == "signed" ? s.signs(shape) : s.classes(shape, 2);
        return ArrayMap<double>{{"pred", s.uniform(shape, -3, 3)},
                                {"label", std::move(label)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
