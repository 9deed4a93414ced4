// TripletLoss: pull the positive closer than the negative by a margin (squared distances).
#include "xtape/losses/triplet_loss.hpp"

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
const detail::OptionFields<TripletLossOptions>& fields() {
    static const detail::OptionFields<TripletLossOptions> list(
        {detail::field("margin", &TripletLossOptions::margin, "the gap between the two distances", {"3"}),
         detail::weight_field<TripletLossOptions>(), detail::batch_axis_field<TripletLossOptions>()});
    return list;
}
}  // namespace

template <class T>
TripletLoss<T>::TripletLoss(const TripletLossOptions& options)
    : Loss<T>("TripletLoss", options.weight, options.batch_axis), options_(options) {}

template <class T>
Var<T> TripletLoss<T>::operator()(const Var<T>& pred, const Var<T>& positive, const Var<T>& negative,
                                  std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(pred);
    // The loss is per sample: (N,), or pred itself when it is 1-D.
    const std::size_t batch = normalize_axis(this->batch_axis(), pred.dimension(), this->name());
    const Shape loss_shape = pred.dimension() == 1 ? pred.shape() : Shape{pred.shape()[batch]};
    this->check_sample_weight(sample_weight, loss_shape);
    check_reshapable_like(positive, pred, this->name(), "positive");
    check_reshapable_like(negative, pred, this->name(), "negative");
    const xt::svector<Var<T>, 4> in{pred, reshape_like(positive, pred, this->name(), "positive"),
                                 reshape_like(negative, pred, this->name(), "negative")};
    // (pred - positive)^2 - (pred - negative)^2, Gluon's squares exactly, summed over each sample.
    const auto squared_distances = [](auto v) { return square(v[0] - v[1]) - square(v[0] - v[2]); };
    const Var<T> s = detail::reduce_elementwise(*this, detail::elementwise<T>(squared_distances),
                                                std::span<const Var<T>>(in), std::nullopt, std::nullopt,
                                                detail::BatchReduction::sum);
    // Per sample already: weighting comes after the reduction, with no mean.
    return this->apply_weighting(relu(add(s, static_cast<T>(options_.margin))), sample_weight, this->weight());
}

template <class T>
std::string TripletLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class TripletLoss<float>;
template class TripletLoss<double>;

namespace detail {

LossInfo triplet_loss_info() {
    LossInfo info;
    info.name = "TripletLoss";
    info.summary = "max(0, sum_b((positive - pred)^2 - (negative - pred)^2) + margin), per sample";
    info.inputs = {required_input("pred", "anchors"), required_input("positive", "same-class examples, like pred"),
                   required_input("negative", "other-class examples, like pred"),
                   {"sample_weight", false, true, "per-sample weights that broadcast to (N,)"}};
    info.check_shapes = default_check_shapes();
    set_callables<TripletLoss>(info, fields(), [](const auto& loss, const auto& in) {
        return loss(in.required("pred"), in.required("positive"), in.required("negative"),
                    in.optional("sample_weight"));
    });
    set_sampler(info, fields(), [](const TripletLossOptions& o, const Shape& shape, Sampler& s) {
        const double margin = o.margin;
        const std::size_t batch = normalize_axis(o.batch_axis, shape.size(), "TripletLoss");
        AxisList others;
        for (std::size_t i = 0; i < shape.size(); ++i) {
            if (i != batch) others.push_back(i);
        }
        // Redraw until every sample is away from the kink at s + margin = 0.
        for (;;) {
            xt::xarray<double> pred = s.uniform(shape, -1, 1);
            xt::xarray<double> positive = s.uniform(shape, -1, 1);
            xt::xarray<double> negative = s.uniform(shape, -1, 1);
            const xt::xarray<double> gap =
                xt::sum(xt::square(positive - pred) - xt::square(negative - pred), others) + margin;
            if (xt::all(xt::abs(gap) > 0.05)) {
                return ArrayMap<double>{{"pred", std::move(pred)},
                                        {"positive", std::move(positive)},
                                        {"negative", std::move(negative)},
                                        {"sample_weight", s.uniform(Shape{shape[batch]}, 0.5, 1.5)}};
            }
        }
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
