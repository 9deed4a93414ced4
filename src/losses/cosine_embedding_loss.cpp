// CosineEmbeddingLoss: pull similar pairs to cosine 1, push dissimilar ones below a margin.
#include "xtape/losses/cosine_embedding_loss.hpp"

#include <fmt/format.h>
#include <xtensor/xoperation.hpp>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

namespace xtape {

template <class T>
CosineEmbeddingLoss<T>::CosineEmbeddingLoss(const CosineEmbeddingLossOptions& options)
    : Loss<T>("CosineEmbeddingLoss", options.weight, options.batch_axis), margin_(options.margin) {}

template <class T>
Var<T> CosineEmbeddingLoss<T>::operator()(const Var<T>& input1, const Var<T>& input2, const Var<T>& label,
                                          std::optional<Var<T>> sample_weight) const {
    if (input2.dimension() < 2) {
        throw ShapeError(fmt::format("{}: input2 of shape {} needs a batch axis and a feature axis", this->name(),
                                     to_string(input2.shape())));
    }
    this->check_batch_axis(input2);
    const Var<T> a = reshape_like(input1, input2, this->name(), "input1");
    const Var<T>& b = input2;
    // max(|a||b|, 1e-12) as sqrt(max(|a|^2 |b|^2, 1e-24)): the same value, but
    // sqrt never sees 0, so zero vectors get a finite (not 0*inf) gradient.
    const Var<T> norms_squared = mul(sum(square(a), {-1}), sum(square(b), {-1}));
    const Var<T> cos = div(sum(mul(a, b), {-1}), sqrt(maximum(norms_squared, T(1e-24))));

    const Var<T> y = reshape_like(label, cos, this->name(), "label");
    for (std::size_t i = 0; i < y.size(); ++i) {
        const T v = y.value().flat(i);
        if (v != T(1) && v != T(-1)) {
            throw ValueError(
                fmt::format("{}: label value {} at flat index {} is neither 1 nor -1", this->name(), v, i));
        }
    }
    const Mask similar = xt::equal(y.value(), T(1));
    const Var<T> e = xtape::where(similar, rsub(T(1), cos), relu(add(cos, static_cast<T>(-margin_))));
    return this->batch_mean(this->apply_weighting(e, sample_weight));
}

template <class T>
std::string CosineEmbeddingLoss<T>::repr() const {
    return fmt::format("{}, margin={})", this->repr_head(), margin_);
}

template class CosineEmbeddingLoss<float>;
template class CosineEmbeddingLoss<double>;

}  // namespace xtape
