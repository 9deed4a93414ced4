// The checks every op test runs: gradcheck in double, and float agreeing with double.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "random_arrays.hpp"
#include "xtape/xtape.hpp"

namespace xtape::test {

/// CHECKs that `got` has `want`'s shape and matches it elementwise within
/// atol + rtol * |want|; NaN matches NaN and an infinity itself.
template <class T>
void check_close(const xt::xarray<T>& got, const xt::xarray<T>& want, double rtol = 1e-12, double atol = 0) {
    REQUIRE(to_string(got.shape()) == to_string(want.shape()));
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double g = got.flat(i), w = want.flat(i);
        INFO("element " << i << ": got " << g << ", want " << w);
        if (std::isnan(w) || std::isinf(w)) {
            CHECK((std::isnan(w) ? std::isnan(g) : g == w));
        } else {
            CHECK(std::abs(g - w) <= atol + rtol * std::abs(w));
        }
    }
}

/// The tolerance of a forward value computed in T by another but equivalent
/// formula: a few units in the last place.
template <class T>
constexpr double forward_rtol = std::is_same_v<T, float> ? 1e-6 : 1e-14;

/// Leaves for `inputs` on `tape`, in order.
template <class T>
std::vector<Var<T>> leaves(Tape<T>& tape, const std::vector<xt::xarray<double>>& inputs) {
    std::vector<Var<T>> out;
    for (const auto& x : inputs) out.push_back(tape.leaf(as<T>(x)));
    return out;
}

/// Runs xtape::gradcheck (full mode unless `options` say otherwise) on `f`,
/// a callable (Tape<double>&, const std::vector<Var<double>>&) -> Var<double>,
/// and CHECKs that it passed, printing the worst element when not.
template <class F>
GradcheckResult check_gradient(F&& f, const std::vector<xt::xarray<double>>& inputs,
                               const GradcheckOptions& options = {}) {
    std::vector<GradcheckInput> named;
    for (std::size_t k = 0; k < inputs.size(); ++k) named.push_back({"x" + std::to_string(k), inputs[k]});
    const GradcheckResult result = gradcheck(std::forward<F>(f), named, options);
    INFO(to_string(result));
    CHECK(result.passed);
    return result;
}

/// Checks that `f`, a generic callable (Tape<T>&, const std::vector<Var<T>>&)
/// -> Var<T>, gives in float the value and the gradients (of a fixed random
/// projection of the output) it gives in double, to `rtol` relative (plus
/// `atol` for values near 0, where cancellation leaves float's absolute error).
template <class F>
void check_float_agrees(F&& f, const std::vector<xt::xarray<double>>& inputs, double rtol = 1e-5,
                        double atol = 1e-6) {
    auto run = [&]<class T>(Tape<T>& tape, std::vector<xt::xarray<double>>& grads) {
        auto xs = leaves(tape, inputs);
        Var<T> y = f(tape, xs);
        const xt::xarray<double> projection = random_array(y.shape(), 7, 0.5, 1.5);
        tape.backward(sum(mul(y, tape.constant(as<T>(projection)))));
        for (const auto& x : xs) grads.push_back(as<double>(x.grad()));
        return as<double>(y.value());
    };
    Tape<float> tape_f;
    Tape<double> tape_d;
    std::vector<xt::xarray<double>> grads_f, grads_d;
    const auto value_f = run(tape_f, grads_f);
    const auto value_d = run(tape_d, grads_d);
    auto close = [&](const xt::xarray<double>& got, const xt::xarray<double>& want, const std::string& what) {
        REQUIRE(got.shape() == want.shape());
        for (std::size_t i = 0; i < got.size(); ++i) {
            INFO(what << " element " << i << ": float " << got.flat(i) << ", double " << want.flat(i));
            CHECK(std::abs(got.flat(i) - want.flat(i)) <= atol + rtol * std::abs(want.flat(i)));
        }
    };
    close(value_f, value_d, "value");
    for (std::size_t k = 0; k < inputs.size(); ++k) close(grads_f[k], grads_d[k], "gradient of x" + std::to_string(k));
}

/// Both checks: the gradient in double, and float against double.
template <class F>
void check_op(F&& f, const std::vector<xt::xarray<double>>& inputs) {
    check_gradient(f, inputs);
    check_float_agrees(f, inputs);
}

}  // namespace xtape::test
