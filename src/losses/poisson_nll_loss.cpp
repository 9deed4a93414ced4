// PoissonNLLLoss: the negative log-likelihood of a Poisson target given a rate or log-rate.
#include "xtape/losses/poisson_nll_loss.hpp"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
using Options = PoissonNLLLossOptions;
const detail::OptionFields<Options>& fields() {
    static const detail::OptionFields<Options> list(
        {detail::field("from_logits", &Options::from_logits, "pred holds log-rates", {"false"}),
         detail::field("compute_full", &Options::compute_full,
                       "add Stirling's approximation of log(target!) where target > 1", {"true"}),
         detail::field("epsilon", &Options::epsilon, "keeps log(rate) finite"), detail::weight_field<Options>(),
         detail::batch_axis_field<Options>()});
    return list;
}

// Stirling's approximation of log(t!), t*log(t) - t + 0.5*log(2*pi*t), where
// t > 1 and 0 elsewhere. It is evaluated at max(t, 1), where it is finite, and
// masked by step(t - 1): the masked-out part's zero gradient stays zero
// instead of 0*inf.
const auto stirling = [](const auto& t) {
    const auto safe = maximum(t, 1.0);
    const auto log_safe = log(safe);
    return (safe * log_safe - safe + (log_safe + std::log(2 * std::numbers::pi)) * 0.5) * step(t - 1.0);
};
}  // namespace

template <class T>
PoissonNLLLoss<T>::PoissonNLLLoss(const Options& options)
    : Loss<T>("PoissonNLLLoss", options.weight, options.batch_axis), options_(options) {}

template <class T>
Var<T> PoissonNLLLoss<T>::operator()(const Var<T>& pred, const Var<T>& target,
                                     std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    this->check_sample_weight(sample_weight, pred.shape());
    // The mean over every element: checked here, before anything is recorded.
    if (pred.size() == 0) {
        throw ShapeError(fmt::format("{}: pred of shape {} has no elements to average", this->name(),
                                     to_string(pred.shape())));
    }
    const xt::svector<Var<T>, 4> in{pred, reshape_like(target, pred, this->name(), "target")};
    // Three options, not the whole struct: a capture of 16 bytes is held by std::function without allocating.
    const auto nll = [from_logits = options_.from_logits, compute_full = options_.compute_full,
                      epsilon = options_.epsilon](auto v) {
        const auto& x = v[0];
        const auto& t = v[1];
        auto e = from_logits ? exp(x) - t * x : x - t * log(x + epsilon);
        if (compute_full) e = e + stirling(t);
        return e;
    };
    // The mean over every element: the per-sample sums of the loss times w/N,
    // then their total. The 1/N inside the formula leaves the gradient rows of
    // a fused pass as they are (a division of the total would send them one more pass).
    const double per_element = this->weight().value_or(1.0) / static_cast<double>(pred.size());
    const Var<T> sums =
        detail::reduce_elementwise(*this, detail::elementwise<T>(nll), std::span<const Var<T>>(in), sample_weight,
                                   per_element, detail::BatchReduction::sum);
    // Shape (1,), as the seed does.
    return reshape(sum(sums), Shape{1});
}

template <class T>
std::string PoissonNLLLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class PoissonNLLLoss<float>;
template class PoissonNLLLoss<double>;

namespace detail {

LossInfo poisson_nll_loss_info() {
    LossInfo info;
    info.name = "PoissonNLLLoss";
    info.summary = "Poisson negative log-likelihood, exp(pred) - target*pred, averaged over every element";
    info.inputs = {required_input("pred", "log-rates, or rates when from_logits=false"),
                   required_input("target", "non-negative counts, reshaped like pred"), sample_weight_input()};
    info.check_shapes = default_check_shapes();
    set_callables<PoissonNLLLoss>(info, fields(), [](const auto& loss, const auto& in) {
        return loss(in.required("pred"), in.required("target"), in.optional("sample_weight"));
    });
    set_sampler(info, fields(), [](const Options& o, const Shape& shape, Sampler& s) {
        xt::xarray<double> pred = o.from_logits ? s.uniform(shape, -1, 1) : s.uniform(shape, 0.5, 2);
        // Away from target = 1, where the Stirling term switches on.
        xt::xarray<double> target =
            s.uniform_where(shape, 0, 4, [](double t, std::size_t) { return std::abs(t - 1) > 0.05; });
        return ArrayMap<double>{{"pred", std::move(pred)},
                                {"target", std::move(target)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
