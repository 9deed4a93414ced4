// CosineEmbeddingLoss: pull similar pairs to cosine 1, push dissimilar ones below a margin.
#include "xtape/losses/cosine_embedding_loss.hpp"

#include <cmath>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xoperation.hpp>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
const detail::OptionFields<CosineEmbeddingLossOptions>& fields() {
    static const detail::OptionFields<CosineEmbeddingLossOptions> list(
        {detail::field("margin", &CosineEmbeddingLossOptions::margin,
                       "cosine below which dissimilar pairs cost nothing", {"0.5"}),
         detail::weight_field<CosineEmbeddingLossOptions>(), detail::batch_axis_field<CosineEmbeddingLossOptions>()});
    return list;
}
}  // namespace

template <class T>
CosineEmbeddingLoss<T>::CosineEmbeddingLoss(const CosineEmbeddingLossOptions& options)
    : Loss<T>("CosineEmbeddingLoss", options.weight, options.batch_axis), options_(options) {}

template <class T>
Var<T> CosineEmbeddingLoss<T>::operator()(const Var<T>& input1, const Var<T>& input2, const Var<T>& label,
                                          std::optional<Var<T>> sample_weight) const {
    if (input2.dimension() < 2) {
        throw ShapeError(fmt::format("{}: input2 of shape {} needs a batch axis and a feature axis", this->name(),
                                     to_string(input2.shape())));
    }
    this->check_batch_axis(input2);
    // The label and sample_weight fit cos, input2's shape without its last axis:
    // checked before anything is recorded.
    const Shape cos_shape(input2.shape().begin(), input2.shape().end() - 1);
    if (label.size() != element_count(cos_shape)) {
        throw ShapeError(fmt::format("{}: label of shape {} has {} elements, cos of shape {} has {}", this->name(),
                                     to_string(label.shape()), label.size(), to_string(cos_shape),
                                     element_count(cos_shape)));
    }
    for (std::size_t i = 0; i < label.size(); ++i) {
        const T v = label.value().flat(i);
        if (v != T(1) && v != T(-1)) {
            throw ValueError(
                fmt::format("{}: label value {} at flat index {} is neither 1 nor -1", this->name(), v, i));
        }
    }
    this->check_sample_weight(sample_weight, cos_shape);
    detail::GraphInputs<T> in;
    in.add_rows(reshape_like(input1, input2, this->name(), "input1"));
    in.add_rows(input2);
    in.add_rows(label.shape() == cos_shape ? label : reshape(label, cos_shape));
    const auto sw = in.add_weight(sample_weight, cos_shape);
    const auto graph = [self = *this, sw](std::span<const Var<T>> v) {
        // Gluon's sum(a * b) / max(|a| |b|, 1e-12), one pass each way.
        const Var<T> cos = cosine_similarity(v[0], v[1], T(1e-12));
        const Mask similar = xt::equal(v[2].value(), T(1));
        const Var<T> e =
            xtape::where(similar, rsub(T(1), cos), relu(add(cos, static_cast<T>(-self.options_.margin))));
        return self.batch_mean(self.apply_weighting(e, detail::input_at(v, sw), self.weight()));
    };
    return detail::run_graph(*this, graph, in, detail::GraphKind::one_pass);
}

template <class T>
std::string CosineEmbeddingLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class CosineEmbeddingLoss<float>;
template class CosineEmbeddingLoss<double>;

namespace detail {

LossInfo cosine_embedding_loss_info() {
    LossInfo info;
    info.name = "CosineEmbeddingLoss";
    info.summary = "label 1: 1 - cos(input1, input2); label -1: max(0, cos - margin); along the last axis";
    info.inputs = {required_input("input1", "first vectors, reshaped like input2"),
                   required_input("input2", "second vectors (the pred shape)"),
                   required_input("label", "1 (similar) or -1 (dissimilar), input2's shape without the last axis",
                                  false),
                   {"sample_weight", false, true, "weights that broadcast to the shape of cos"}};
    info.check_shapes = default_check_shapes();
    set_callables<CosineEmbeddingLoss>(info, fields(), [](const auto& loss, const auto& in) {
        return loss(in.required("input1"), in.required("input2"), in.required("label"), in.optional("sample_weight"));
    });
    set_sampler(info, fields(), [](const CosineEmbeddingLossOptions& o, const Shape& shape, Sampler& s) {
        xt::xarray<double> input1 = s.uniform(shape, -1, 1);
        xt::xarray<double> input2 = s.uniform(shape, -1, 1);
        const xt::xarray<double> cos = xt::sum(input1 * input2, {shape.size() - 1}) /
                                       xt::sqrt(xt::sum(xt::square(input1), {shape.size() - 1}) *
                                                xt::sum(xt::square(input2), {shape.size() - 1}));
        xt::xarray<double> label = s.signs(cos.shape());
        // A dissimilar pair at the kink cos = margin becomes a similar one (no kink there).
        for (std::size_t i = 0; i < label.size(); ++i) {
            if (std::abs(cos.flat(i) - o.margin) < 0.05) label.flat(i) = 1;
        }
        return ArrayMap<double>{{"input1", std::move(input1)},
                                {"input2", std::move(input2)},
                                {"label", std::move(label)},
                                {"sample_weight", s.uniform(cos.shape(), 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
