// LogisticLoss: the logistic loss for signed (-1/1) or binary (0/1) labels.
#include "xtape/losses/logistic_loss.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/fuse.hpp"
#include "xtape/ops.hpp"

#include "loss_infos.hpp"
#include "registry_support.hpp"

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
    this->check_sample_weight(sample_weight, pred.shape());
    const std::vector<Var<T>> in{pred, reshape_like(label, pred, this->name(), "label")};
    const auto logistic = [is_signed = label_format_ == "signed"](auto v) {
        const ElementwiseExpr& x = v[0];
        const ElementwiseExpr y = is_signed ? (v[1] + 1.0) * 0.5 : v[1];  // -1/1 -> 0/1
        return softplus(x) - x * y;
    };
    // One fused pass each way, so not in chunks (Loss::evaluate): they would only add copies.
    return this->weighted_batch_mean(in, logistic, sample_weight);
}

template <class T>
std::string LogisticLoss<T>::repr() const {
    return fmt::format("{}, label_format={})", this->repr_head(), label_format_);
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
    info.options = {weight_option("None"),
                    batch_axis_option(),
                    {"label_format", OptionType::String, "signed", {"signed", "binary"}, {"signed", "binary"},
                     "how labels are written"}};
    info.check_shapes = default_check_shapes();
    set_callables<LogisticLoss>(
        info,
        [](const OptionReader& o) {
            return LogisticLossOptions{
                .weight = o.weight(), .batch_axis = o.batch_axis(), .label_format = o.get_string("label_format")};
        },
        call_pred_label);
    set_sampler(info, [](const OptionReader& o, const Shape& shape, Sampler& s) {
        xt::xarray<double> label = o.get_string("label_format") == "signed" ? s.signs(shape) : s.classes(shape, 2);
        return ArrayMap<double>{{"pred", s.uniform(shape, -3, 3)},
                                {"label", std::move(label)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
