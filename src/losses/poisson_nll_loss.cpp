// PoissonNLLLoss: the negative log-likelihood of a Poisson target given a rate or log-rate.
#include "xtape/losses/poisson_nll_loss.hpp"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "xtape/fuse.hpp"
#include "xtape/ops.hpp"

#include "graph_inputs.hpp"
#include "loss_infos.hpp"
#include "registry_support.hpp"

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
    this->check_sample_weight(sample_weight, pred.shape());
    // The mean over every element: checked here, before anything is recorded.
    if (pred.size() == 0) {
        throw ShapeError(fmt::format("{}: pred of shape {} has no elements to average", this->name(),
                                     to_string(pred.shape())));
    }
    detail::GraphInputs<T> in;
    in.add_rows(pred);
    in.add_rows(reshape_like(target, pred, this->name(), "target"));
    const auto sw = in.add_weight(sample_weight, pred.shape());
    const auto nll = [from_logits = from_logits_, epsilon = epsilon_](auto v) {
        return from_logits ? exp(v[0]) - v[1] * v[0] : v[0] - v[1] * log(v[0] + epsilon);
    };
    // The mean over every element: the per-sample sums of the loss times w/N,
    // then their total. Without the Stirling term, one fused pass each way (not
    // in chunks, which would only add copies); the 1/N inside it leaves the
    // gradient rows it computes with the values as they are (a division of the
    // total would send them one more pass).
    const double per_element = this->weight().value_or(1.0) / static_cast<double>(pred.size());
    // With the Stirling term: a composed graph, in chunks.
    const auto full = [self = *this, sw, nll, per_element](std::span<const Var<T>> v) {
        const Var<T> e = add(fuse(v.first(2), nll), stirling_term(v[1]));
        return self.batch_sum(self.apply_weighting(e, detail::input_at(v, sw), per_element));
    };
    const Var<T> sums = compute_full_
                            ? this->evaluate(in.vars(), in.splits(), full)
                            : this->weighted_batch_sum(in.vars().first(2), nll, sample_weight, per_element);
    // Shape (1,), as the seed does.
    return reshape(sum(sums), Shape{1});
}

template <class T>
std::string PoissonNLLLoss<T>::repr() const {
    return fmt::format("{}, from_logits={}, compute_full={}, epsilon={})", this->repr_head(), from_logits_,
                       compute_full_, epsilon_);
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
    info.options = {{"from_logits", OptionType::Bool, "true", {}, {"true", "false"}, "pred holds log-rates"},
                    {"compute_full", OptionType::Bool, "false", {}, {"false", "true"},
                     "add Stirling's approximation of log(target!) where target > 1"},
                    {"epsilon", OptionType::Real, "1e-8", {}, {"1e-8"}, "keeps log(rate) finite"},
                    weight_option("None"),
                    batch_axis_option()};
    info.check_shapes = default_check_shapes();
    set_callables<PoissonNLLLoss>(
        info,
        [](const OptionReader& o) {
            return PoissonNLLLossOptions{.from_logits = o.get_bool("from_logits"),
                                         .compute_full = o.get_bool("compute_full"),
                                         .epsilon = o.get_real("epsilon"),
                                         .weight = o.weight(),
                                         .batch_axis = o.batch_axis()};
        },
        [](const auto& loss, const auto& in) {
            return loss(in.required("pred"), in.required("target"), in.optional("sample_weight"));
        });
    set_sampler(info, [](const OptionReader& o, const Shape& shape, Sampler& s) {
        xt::xarray<double> pred = o.get_bool("from_logits") ? s.uniform(shape, -1, 1) : s.uniform(shape, 0.5, 2);
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
