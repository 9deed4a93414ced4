// SDMLLoss: smoothed deep metric learning, the KL divergence from smoothed identity labels
// to a softmax over the negated squared distances of x1_i to every x2_j.
#include "xtape/losses/sdml_loss.hpp"

#include <cmath>

#include <fmt/format.h>
#include <xtensor/xarray.hpp>

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

// The smoothed labels L (1 - s on the diagonal, s/(N-1) elsewhere) and the constant
// part of the KL divergence, L*log(L + 1e-12), both (N, N).
template <class T>
std::pair<xt::xarray<T>, xt::xarray<T>> smoothed_labels(std::size_t n, double s) {
    xt::xarray<T> labels = xt::xarray<T>::from_shape({n, n});
    xt::xarray<T> entropy_terms = xt::xarray<T>::from_shape({n, n});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
            const double l = i == j ? 1 - s : s / static_cast<double>(n - 1);
            labels(i, j) = static_cast<T>(l);
            entropy_terms(i, j) = static_cast<T>(l * std::log(l + 1e-12));
        }
    }
    return {std::move(labels), std::move(entropy_terms)};
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
        // D_ij = sum_k (a_ik - b_jk)^2 = |a_i|^2 + |b_j|^2 - 2 a_i . b_j: (N, N)
        // through one matmul, without the (N, N, D) differences (64 GiB for
        // 4096 samples of 1024 floats).
        const Var<T> a_squares = sum(square(a), {1}, true);                  // (N, 1)
        const Var<T> b_squares = reshape(sum(square(b), {1}), Shape{1, n});  // (1, N)
        const Var<T> distances = add(sub(a_squares, mul(matmul(a, transpose(b)), T(2))), b_squares);
        const Var<T> log_probabilities = log_softmax(neg(distances), 1);
        auto [labels, entropy_terms] = smoothed_labels<T>(n, self.options_.smoothing_parameter);
        Tape<T>& tape = a.tape();
        // L * (log(L + 1e-12) - lp), averaged over j: Gluon's KLDivLoss with from_logits.
        const Var<T> divergence = sub(tape.constant(std::move(entropy_terms)),
                                      mul(tape.constant(std::move(labels)), log_probabilities));
        const Var<T> per_sample = mean(divergence, {1});
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
