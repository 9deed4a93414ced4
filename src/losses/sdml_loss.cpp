// SDMLLoss: smoothed deep metric learning, the KL divergence from smoothed identity labels
// to a softmax over the negated squared distances of x1_i to every x2_j.
#include "xtape/losses/sdml_loss.hpp"

#include <cmath>
#include <cstdint>

#include <fmt/format.h>
#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

#include "execution.hpp"
#include "loss_infos.hpp"
#include "option_fields.hpp"

namespace xtape {

namespace {
using Options = SDMLLossOptions;
const detail::OptionFields<Options>& fields() {
    static const detail::OptionFields<Options> list(
        {detail::field("smoothing_parameter", &Options::smoothing_parameter,
                       "label mass spread over the other samples, in [0, 1]", {"0"}),
         detail::weight_field<Options>(), detail::batch_axis_field<Options>()});
    return list;
}

}  // namespace

template <class T>
SDMLLoss<T>::SDMLLoss(const Options& options)
    : Loss<T>("SDMLLoss", options.weight, options.batch_axis), options_(options) {
    const double s = options_.smoothing_parameter;
    if (!(s >= 0 && s <= 1)) {
        throw ValueError(fmt::format("{}: smoothing_parameter must be in [0, 1], got {}", this->name(), s));
    }
}

template <class T>
Var<T> SDMLLoss<T>::operator()(const Var<T>& x1, const Var<T>& x2, std::optional<Var<T>> sample_weight) const {
    if (x1.dimension() != 2 || x2.shape() != x1.shape()) {
        throw ShapeError(fmt::format("{}: x1 of shape {} and x2 of shape {} must be two equal shapes (N, D)",
                                     this->name(), to_string(x1.shape()), to_string(x2.shape())));
    }
    this->check_batch_axis(x1);
    const std::size_t batch_axis = normalize_axis(this->batch_axis(), 2, this->name());
    const std::size_t n = x1.shape()[batch_axis];
    if (n < 2) {
        throw ValueError(fmt::format("{}: needs N >= 2 samples to tell apart, got x1 of shape {}", this->name(),
                                     to_string(x1.shape())));
    }
    this->check_sample_weight(sample_weight, Shape{n});
    detail::GraphInputs<T> in;
    in.add_rows(x1);
    in.add_rows(x2);
    const auto sw = in.add_sample_weight(sample_weight, Shape{n});
    const auto graph = [self = *this, batch_axis, n, sw](std::span<const Var<T>> v) {
        // Samples along axis 0: (N, D).
        const Var<T> a = batch_axis == 0 ? v[0] : transpose(v[0]);
        const Var<T> b = batch_axis == 0 ? v[1] : transpose(v[1]);
        // The log-probabilities are log_softmax over j of -D_ij, D_ij = |a_i|^2 + |b_j|^2 - 2 a_i.b_j,
        // which are those of z_ij = 2 a_i.b_j - |b_j|^2: a row's constant |a_i|^2 cancels. z comes
        // from one matmul (of a and 2b: doubling is exact) and a row repeated down the rows, without the (N, N, D)
        // differences (64 GiB for 4096 samples of 1024 floats).
        const Var<T> twice_b = mul(b, T(2));
        const Var<T> b_squares = sum(square(b), {1});  // (N,)
        const Var<T> z = sub(matmul(a, transpose(twice_b)), reshape(b_squares, Shape{1, n}));  // (N, N)
        const Var<T> log_probabilities = log_softmax(z, 1);
        // Gluon's KLDivLoss of the smoothed labels L (1 - s on the diagonal, t = s/(N-1) elsewhere),
        // mean_j L_ij (log(L_ij + 1e-12) - lp_ij), without the (N, N) labels: the sum over j is
        // c - (1 - s - t) lp_ii - t sum_j lp_ij, with the constant c = sum_j L_ij log(L_ij + 1e-12).
        const double s = self.options_.smoothing_parameter;
        const double t = s / static_cast<double>(n - 1);
        const double c = (1 - s) * std::log(1 - s + 1e-12) + s * std::log(t + 1e-12);
        const IndexArray diagonal = xt::arange<std::int64_t>(static_cast<std::int64_t>(n));
        const Var<T> matched = pick(log_probabilities, diagonal, 1);  // lp_ii
        Var<T> divergence = rsub(static_cast<T>(c), mul(matched, static_cast<T>(1 - s - t)));
        if (t != 0) divergence = sub(divergence, mul(sum(log_probabilities, {1}), static_cast<T>(t)));
        const Var<T> per_sample = div(divergence, static_cast<T>(n));
        return self.apply_weighting(per_sample, detail::input_at(v, sw), self.weight());
    };
    return detail::run_graph(*this, graph, in, detail::GraphKind::mixes_samples);
}

template <class T>
std::string SDMLLoss<T>::repr() const {
    return fields().repr(this->name(), this->batch_axis(), options_);
}

template class SDMLLoss<float>;
template class SDMLLoss<double>;

namespace detail {

LossInfo sdml_loss_info() {
    LossInfo info;
    info.name = "SDMLLoss";
    info.summary = "KL divergence from smoothed identity labels to softmax(-|x1_i - x2_j|^2) over j (Gluon 2.0)";
    info.inputs = {required_input("x1", "embeddings (N, D)"),
                   required_input("x2", "embeddings (N, D), x2_i the match of x1_i"),
                   {"sample_weight", false, true, "per-sample weight, broadcast to (N,)"}};
    info.check_shapes = {Shape{3, 4}, Shape{4, 2}};
    set_callables<SDMLLoss>(info, fields(), [](const auto& loss, const auto& in) {
        return loss(in.required("x1"), in.required("x2"), in.optional("sample_weight"));
    });
    set_sampler(info, fields(), [](const Options& o, const Shape& shape, Sampler& s) {
        const std::size_t batch_axis = normalize_axis(o.batch_axis, shape.size(), "SDMLLoss");
        xt::xarray<double> x1 = s.uniform(shape, -1, 1);
        xt::xarray<double> x2 = x1 + s.uniform(shape, -0.3, 0.3);  // each x2_i near its x1_i
        return ArrayMap<double>{{"x1", std::move(x1)},
                                {"x2", std::move(x2)},
                                {"sample_weight", s.uniform(Shape{shape[batch_axis]}, 0.5, 1.5)}};
    });
    return info;
}

}  // namespace detail

}  // namespace xtape
