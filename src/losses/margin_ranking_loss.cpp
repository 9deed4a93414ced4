// MarginRankingLoss: a hinge on the difference of two scores.
#include "xtape/losses/margin_ranking_loss.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
using Options = MarginRankingLossOptions;
const detail::OptionFields<Options>& fields() {
    static const detail::OptionFields<Options> list(
        {detail::field("margin", &Options::margin, "how much the higher-ranked input should exceed the other",
                       {"0.5"}),
         detail::weight_field<Options>(), detail::batch_axis_field<Options>()});
    return list;
}
}  // namespace

template <class T>
MarginRankingLoss<T>::MarginRankingLoss(const Options& options)
    : Loss<T>("MarginRankingLoss", options.weight, options.batch_axis), options_(options) {}

template <class T>
Var<T> MarginRankingLoss<T>::operator()(const Var<T>& input1, const Var<T>& input2, const Var<T>& label,
                                        std::optional<Var<T>> sample_weight) const {
    this->check_batch_axis(input1);
    this->check_sample_weight(sample_weight, input1.shape());
    if (input2.shape() != input1.shape()) {
        throw ShapeError(fmt::format("{}: input2 of shape {} must have input1's shape {}", this->name(),
                                     to_string(input2.shape()), to_string(input1.shape())));
    }
    check_reshapable_like(label, input1, this->name(), "label");
    // Counted without a branch per label (random signs would mispredict half
    // of them), the first bad one sought only when there is one. |NaN| != 1.
    const T* labels = label.value().data();
    const std::size_t size = label.value().size();
    const auto is_bad = [](T y) { return std::abs(y) != T(1); };
    std::size_t bad = 0;
    for (std::size_t i = 0; i < size; ++i) bad += is_bad(labels[i]);
    if (bad > 0) {
        const std::size_t i = static_cast<std::size_t>(std::find_if(labels, labels + size, is_bad) - labels);
        throw ValueError(
            fmt::format("{}: label must be 1 or -1, got {} at flat index {}", this->name(), labels[i], i));
    }
    const xt::svector<Var<T>, 4> in{input1, input2, reshape_like(label, input1, this->name(), "label")};
    const auto hinge = [margin = static_cast<double>(static_cast<T>(options_.margin))](auto v) {
        return relu(margin - v[2] * (v[0] - v[1]));
    };
    return detail::reduce_elementwise(*this, detail::elementwise<T>(hinge), std::span<const Var<T>>(in), sample_weight,
                                      this->weight(), detail::BatchReduction::mean);
}

template <class T>
std::string MarginRankingLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class MarginRankingLoss<float>;
template class MarginRankingLoss<double>;

namespace detail {

LossInfo margin_ranking_loss_info() {
    LossInfo info;
    info.name = "MarginRankingLoss";
    info.summary = "max(0, margin - label*(input1 - input2)), label = 1 where input1 should rank higher (PyTorch)";
    info.inputs = {required_input("input1", "the first scores"), required_input("input2", "the second scores, input1's shape"),
                   required_input("label", "1 or -1, reshaped like input1", false), sample_weight_input()};
    info.check_shapes = default_check_shapes();
    set_callables<MarginRankingLoss>(info, fields(), [](const auto& loss, const auto& in) {
        return loss(in.required("input1"), in.required("input2"), in.required("label"), in.optional("sample_weight"));
    });
    set_sampler(info, fields(), [](const Options& o, const Shape& shape, Sampler& s) {
        xt::xarray<double> input1 = s.uniform(shape, -2, 2);
        xt::xarray<double> label = s.signs(shape);
        // margin - label*(input1 - input2) on both sides of the hinge, away from its kink at 0.
        const xt::xarray<double> slack = s.uniform_where(shape, -1, 1, [](double d, std::size_t) { return std::abs(d) > 0.05; });
        xt::xarray<double> input2 = input1 + label * (slack - o.margin);
        return ArrayMap<double>{{"input1", std::move(input1)},
                                {"input2", std::move(input2)},
                                {"label", std::move(label)},
                                {"sample_weight", s.uniform(broadcast_weight_shape(shape), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
