// Numerical edges: logits far past exp's float range and probabilities near 0 and 1
// keep every loss and its gradients finite, in float and in double.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include <xtensor/xmath.hpp>

#include "support/array_helpers.hpp"
#include "xtape/xtape.hpp"

using namespace xtape;
using xtape::test::all_finite;

namespace {

// The loss on the registry's sample, its first input rescaled so that its
// largest magnitude is `scale`; checks the output and every gradient finite.
template <class T>
void check_finite_at_scale(const LossInfo& info, const OptionMap& options, T scale) {
    Tape<T> tape;
    InputMap<T> inputs;
    for (const auto& [name, value] : info.sample(options, info.check_shapes.at(0), 5)) {
        xt::xarray<T> array = xt::cast<T>(value);
        if (name == info.inputs.front().name) array *= scale / xt::amax(xt::abs(array))();
        inputs.emplace(name, info.is_differentiable(options, name) ? tape.leaf(std::move(array))
                                                                    : tape.constant(std::move(array)));
    }
    const Var<T> out = info.apply<T>(options, inputs);
    tape.backward(sum(out));
    CHECK(all_finite(out.value()));
    for (const auto& input : inputs) {
        CAPTURE(input.first);
        if (input.second.requires_grad()) CHECK(all_finite(input.second.grad()));
    }
}

}  // namespace

TEST_CASE_TEMPLATE("numerical edges: every loss stays finite with inputs of magnitude 100 and 1e4", T, float, double) {
    // exp(100) overflows float: only a loss written in a stable form stays finite.
    for (const LossInfo& info : loss_registry()) {
        // PoissonNLLLoss on log-rates is exp(pred) by definition, overflowing with
        // the math; on rates it must stay finite.
        const OptionMap options = info.name == "PoissonNLLLoss" ? OptionMap{{"from_logits", "false"}} : OptionMap{};
        for (T scale : {T(100), T(1e4)}) {
            CAPTURE(info.name);
            CAPTURE(scale);
            check_finite_at_scale<T>(info, options, scale);
        }
    }
}

TEST_CASE_TEMPLATE("numerical edges: probabilities of 0, 1, and below float's normal range stay finite", T, float,
                   double) {
    // 1e-45 is a float subnormal (and 0 in no type), 1 - 1e-7 is float's last step below 1.
    const xt::xarray<T> p = {{T(0), T(1e-30), T(1e-45)}, {T(1), T(1 - 1e-7), T(0.5)}};
    const xt::xarray<T> y = {{T(1), T(1), T(0)}, {T(0), T(0), T(1)}};
    SUBCASE("SigmoidBCELoss from_sigmoid") {
        Tape<T> tape;
        const Var<T> pred = tape.leaf(p);
        const Var<T> out = SigmoidBCELoss<T>({.from_sigmoid = true})(pred, tape.constant(y));
        tape.backward(sum(out));
        CHECK(all_finite(out.value()));
        CHECK(all_finite(pred.grad()));
    }
    SUBCASE("KLDivLoss with tiny labels and log-probabilities") {
        Tape<T> tape;
        const Var<T> log_p = tape.leaf(xt::xarray<T>(xt::log(p + T(1e-30))));
        // Each row of p normalised (by hand: a lazy division by a keep_dims sum misbroadcasts).
        xt::xarray<T> q = p;
        for (std::size_t i = 0; i < q.shape()[0]; ++i) {
            const T row_sum = p(i, 0) + p(i, 1) + p(i, 2);
            for (std::size_t j = 0; j < q.shape()[1]; ++j) q(i, j) = p(i, j) / row_sum;
        }
        const Var<T> label = tape.leaf(q);
        const Var<T> out = KLDivLoss<T>()(log_p, label);
        tape.backward(sum(out));
        CHECK(all_finite(out.value()));
        CHECK(all_finite(log_p.grad()));
        CHECK(all_finite(label.grad()));
    }
    SUBCASE("PoissonNLLLoss on rates near 0") {
        Tape<T> tape;
        const Var<T> rate = tape.leaf(p);
        const Var<T> out = PoissonNLLLoss<T>({.from_logits = false, .compute_full = true})(
            rate, tape.constant(xt::xarray<T>(y * T(3))));
        tape.backward(sum(out));
        CHECK(all_finite(out.value()));
        CHECK(all_finite(rate.grad()));
    }
    SUBCASE("SoftmaxCrossEntropyLoss from log-probabilities near -inf") {
        Tape<T> tape;
        const Var<T> log_p = tape.leaf(xt::xarray<T>(xt::log(p + T(1e-30))));
        const Var<T> out = SoftmaxCELoss<T>({.from_logits = true})(log_p, tape.constant(xt::xarray<T>{1, 2}));
        tape.backward(sum(out));
        CHECK(all_finite(out.value()));
        CHECK(all_finite(log_p.grad()));
    }
}
