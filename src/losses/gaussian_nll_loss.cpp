// GaussianNLLLoss: the negative log-likelihood of a normal distribution of predicted mean and variance.
#include "xtape/losses/gaussian_nll_loss.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "../kernels/reduction.hpp"
#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
using Options = GaussianNLLLossOptions;
const detail::OptionFields<Options>& fields() {
    static const detail::OptionFields<Options> list(
        {detail::field("full", &Options::full, "adds the constant 0.5*log(2*pi)", {"true"}),
         detail::field("eps", &Options::eps, "the variance's lower clamp (> 0)", {"0.1"}),
         detail::weight_field<Options>(), detail::batch_axis_field<Options>()});
    return list;
}
}  // namespace

template <class T>
GaussianNLLLoss<T>::GaussianNLLLoss(const Options& options)
    : Loss<T>("GaussianNLLLoss", options.weight, options.batch_axis), options_(options) {
    if (!(options_.eps > 0)) throw ValueError(fmt::format("{}: eps must be positive, got {}", this->name(), options_.eps));
}

template <class T>
Var<T> GaussianNLLLoss<T>::operator()(const Var<T>& pred, const Var<T>& target, const Var<T>& var,
                                      std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    this->check_sample_weight(sample_weight, pred.shape());
    check_reshapable_like(target, pred, this->name(), "target");
    if (!broadcasts_to(var.shape(), pred.shape())) {
        throw ShapeError(fmt::format("{}: var of shape {} does not broadcast to pred of shape {}", this->name(),
                                     to_string(var.shape()), to_string(pred.shape())));
    }
    // One pass over var; the first negative one is looked for only when there
    // is one. NaN passes, and propagates, as in every loss.
    const T* const variances = var.value().data();
    const std::size_t count = var.size();
    if (kernels::any_negative(variances, count)) {
        const std::size_t i = static_cast<std::size_t>(
            std::find_if(variances, variances + count, [](T v) { return v < 0; }) - variances);
        throw ValueError(
            fmt::format("{}: var must be >= 0, got {} at flat index {}", this->name(), variances[i], i));
    }
    const xt::svector<Var<T>, 4> in{pred, reshape_like(target, pred, this->name(), "target"),
                                 var.shape() == pred.shape() ? var : broadcast_to(var, pred.shape())};
    const auto nll = [eps = static_cast<double>(static_cast<T>(options_.eps)),
                      constant = options_.full ? 0.5 * std::log(2 * std::numbers::pi) : 0.0](auto v) {
        const auto variance = maximum(v[2], eps);  // the clamp's kink: no gradient to var below eps
        auto e = 0.5 * (log(variance) + square(v[0] - v[1]) / variance);
        if (constant != 0) e = e + constant;
        return e;
    };
    return detail::reduce_elementwise(*this, detail::elementwise<T>(nll), std::span<const Var<T>>(in), sample_weight,
                                      this->weight(), detail::BatchReduction::mean);
}

template <class T>
std::string GaussianNLLLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class GaussianNLLLoss<float>;
template class GaussianNLLLoss<double>;

namespace detail {

LossInfo gaussian_nll_loss_info() {
    LossInfo info;
    info.name = "GaussianNLLLoss";
    info.summary = "0.5*(log v + (pred - target)^2 / v), v = max(var, eps) (PyTorch)";
    info.inputs = {required_input("pred", "the predicted mean"),
                   required_input("target", "the observations, reshaped like pred"),
                   required_input("var", "the predicted variance (>= 0), broadcast to pred"), sample_weight_input()};
    info.check_shapes = default_check_shapes();
    set_callables<GaussianNLLLoss>(info, fields(), [](const auto& loss, const auto& in) {
        return loss(in.required("pred"), in.required("target"), in.required("var"), in.optional("sample_weight"));
    });
    set_sampler(info, fields(), [](const Options& o, const Shape& shape, Sampler& s) {
        // Variances well above eps, away from the clamp's kink.
        const double lowest = std::max(0.5, 3 * o.eps);
        return ArrayMap<double>{{"pred", s.uniform(shape, -2, 2)},
                                {"target", s.uniform(shape, -2, 2)},
                                {"var", s.uniform(shape, lowest, lowest + 1.5)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
