// Checking analytic gradients against central finite differences, in double.
#include "xtape/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <compare>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "xtape/ops.hpp"
#include "xtape/shape.hpp"

namespace xtape {

namespace {

// Evaluates sum(v * f(inputs)) on a fresh tape; v is drawn once from the seed
// so that every evaluation projects the output the same way. An output of one
// element keeps v = 1: projecting it would test nothing more, and would scale
// the values a reader compares with a derivative by hand.
class Projected {
public:
    Projected(const GradcheckFunction& f, std::uint64_t seed) : f_(f), seed_(seed) {}

    // The projected scalar, and (when `grads` is given) its gradient for each input.
    double evaluate(const std::vector<GradcheckInput>& inputs,
                    std::vector<xt::xarray<double>>* grads) {
        Tape<double> tape;
        std::vector<Var<double>> leaves;
        leaves.reserve(inputs.size());
        for (const auto& in : inputs) leaves.push_back(tape.leaf(in.value));
        Var<double> y = f_(tape, leaves);
        // (A default xarray is 0-d with one element, so its size cannot say "not drawn yet".)
        if (!projection_drawn_) {
            projection_drawn_ = true;
            std::mt19937_64 rng(seed_);
            std::uniform_real_distribution<double> u(0.5, 1.5);
            projection_ = xt::ones<double>(y.shape());
            if (projection_.size() > 1) {
                for (double& v : projection_) v = u(rng);
            }
        }
        Var<double> scalar = sum(mul(y, tape.constant(projection_)));
        if (grads != nullptr) {
            tape.backward(scalar);
            grads->clear();
            for (const auto& leaf : leaves) grads->push_back(leaf.grad());
        }
        return scalar.value().flat(0);
    }

private:
    const GradcheckFunction& f_;
    std::uint64_t seed_;
    xt::xarray<double> projection_;
    bool projection_drawn_ = false;
};

// How far an element is from passing, for ranking: a non-finite value first,
// then the error over the tolerance, then the error itself (with no tolerance
// at all, every wrong element has an infinite ratio).
struct Badness {
    bool non_finite = false;
    double tolerance_ratio = 0;
    double abs_error = 0;

    auto operator<=>(const Badness&) const = default;
};

// Compares elements one at a time and keeps the counts, the largest errors and the worst element.
struct Tracker {
    const GradcheckOptions& options;
    GradcheckResult result;
    Badness worst;

    void compare(const std::string& input, std::size_t index, double analytic, double numeric) {
        const bool finite = std::isfinite(analytic) && std::isfinite(numeric);
        const double infinity = std::numeric_limits<double>::infinity();
        const double abs_error = finite ? std::abs(analytic - numeric) : infinity;
        const double tolerance = options.atol + options.rtol * std::abs(numeric);
        const bool ok = finite && abs_error <= tolerance;
        const Badness badness{!finite, abs_error == 0 ? 0 : finite ? abs_error / tolerance : infinity, abs_error};

        ++result.checked;
        result.max_abs_error = std::max(result.max_abs_error, abs_error);
        const double rel_error = !finite ? infinity : numeric != 0 ? abs_error / std::abs(numeric) : 0.0;
        result.max_rel_error = std::max(result.max_rel_error, rel_error);
        if (!ok) {
            ++result.failures;
            result.passed = false;
        }
        if (!finite && result.problem.empty()) result.problem = not_finite(input, index, analytic, numeric);
        if (result.checked == 1 || badness > worst) {
            worst = badness;
            result.worst_input = input;
            result.worst_index = index;
            result.worst_analytic = analytic;
            result.worst_numeric = numeric;
            result.worst_tolerance_ratio = badness.tolerance_ratio;
        }
    }

    static std::string not_finite(const std::string& input, std::size_t index, double analytic, double numeric) {
        const bool analytic_finite = std::isfinite(analytic);
        const char* what = analytic_finite                ? "the central difference is"
                           : std::isfinite(numeric)       ? "the gradient is"
                                                          : "the gradient and the central difference are";
        return fmt::format("{}[{}]: {} not finite (analytic {}, numeric {})", input, index, what, analytic, numeric);
    }
};

}  // namespace

GradcheckResult gradcheck(const GradcheckFunction& f, const std::vector<GradcheckInput>& inputs,
                          const GradcheckOptions& options) {
    Projected projected(f, options.seed);
    Tracker tracker{options, {}, {}};
    std::vector<xt::xarray<double>> analytic;
    const double value = projected.evaluate(inputs, &analytic);
    if (!std::isfinite(value)) {
        tracker.result.passed = false;
        tracker.result.problem = fmt::format("the output is not finite ({})", value);
        return tracker.result;
    }
    std::vector<GradcheckInput> shifted = inputs;
    const double eps = options.eps;

    if (!options.fast) {
        for (std::size_t k = 0; k < inputs.size(); ++k) {
            auto& x = shifted[k].value;
            for (std::size_t i = 0; i < x.size(); ++i) {
                const double original = x.flat(i);
                x.flat(i) = original + eps;
                const double plus = projected.evaluate(shifted, nullptr);
                x.flat(i) = original - eps;
                const double minus = projected.evaluate(shifted, nullptr);
                x.flat(i) = original;
                tracker.compare(inputs[k].name, i, analytic[k].flat(i), (plus - minus) / (2 * eps));
            }
        }
        return tracker.result;
    }

    // Fast mode: for a random direction u over all inputs, the directional
    // derivative (f(x + eps u) - f(x - eps u)) / 2 eps must equal grad . u.
    std::mt19937_64 rng(options.seed + 1);
    std::normal_distribution<double> normal(0.0, 1.0);
    for (int d = 0; d < options.directions; ++d) {
        std::vector<xt::xarray<double>> direction;
        double analytic_dot = 0;
        for (std::size_t k = 0; k < inputs.size(); ++k) {
            xt::xarray<double> u = xt::empty<double>(inputs[k].value.shape());
            for (double& v : u) v = normal(rng);
            for (std::size_t i = 0; i < u.size(); ++i) analytic_dot += analytic[k].flat(i) * u.flat(i);
            direction.push_back(std::move(u));
        }
        for (std::size_t k = 0; k < inputs.size(); ++k) shifted[k].value = inputs[k].value + eps * direction[k];
        const double plus = projected.evaluate(shifted, nullptr);
        for (std::size_t k = 0; k < inputs.size(); ++k) shifted[k].value = inputs[k].value - eps * direction[k];
        const double minus = projected.evaluate(shifted, nullptr);
        tracker.compare("direction", static_cast<std::size_t>(d), analytic_dot, (plus - minus) / (2 * eps));
    }
    return tracker.result;
}

std::string to_string(const GradcheckResult& r) {
    if (r.checked == 0) return r.problem.empty() ? "passed: nothing to compare" : fmt::format("failed: {}", r.problem);
    const std::string counts = r.passed ? fmt::format("passed: {} compared", r.checked)
                                        : fmt::format("FAILED: {}{} of {} outside tolerance",
                                                      r.problem.empty() ? "" : r.problem + "; ", r.failures, r.checked);
    return fmt::format("{}, max abs error {:.3g}, max rel error {:.3g}; worst {}[{}]: analytic {:.17g}, numeric {:.17g} "
                       "({:.3g} x its tolerance)",
                       counts, r.max_abs_error, r.max_rel_error, r.worst_input, r.worst_index, r.worst_analytic,
                       r.worst_numeric, r.worst_tolerance_ratio);
}

}  // namespace xtape
