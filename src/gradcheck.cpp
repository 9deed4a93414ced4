// Checking analytic gradients in double: against central finite differences, and by the Taylor test.
#include "xtape/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <compare>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "xtape/derivatives.hpp"
#include "xtape/errors.hpp"
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
    double evaluate(const std::vector<GradcheckInput>& inputs, std::vector<xt::xarray<double>>* grads) {
        return evaluate(inputs, grads, nullptr);
    }

    // As above; `magnitude` (when given) receives sum |v * y|, the scale of the rounding of the sum.
    double evaluate(const std::vector<GradcheckInput>& inputs, std::vector<xt::xarray<double>>* grads,
                    double* magnitude) {
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
        if (magnitude != nullptr) {
            *magnitude = 0;
            for (std::size_t i = 0; i < projection_.size(); ++i)
                *magnitude += std::abs(projection_.flat(i) * y.value().flat(i));
        }
        if (grads != nullptr) {
            tape.backward(scalar);
            grads->clear();
            for (const auto& leaf : leaves) grads->push_back(leaf.grad());
        }
        return scalar.value().flat(0);
    }

    // J itself, sum(v * f), as a function with a one-element output (after a first evaluate()).
    GradcheckFunction scalar() const {
        return [this](Tape<double>& tape, const std::vector<Var<double>>& leaves) {
            return sum(mul(f_(tape, leaves), tape.constant(projection_)));
        };
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
        const char* what = analytic_finite          ? "the central difference is"
                           : std::isfinite(numeric) ? "the gradient is"
                                                    : "the gradient and the central difference are";
        return fmt::format("{}[{}]: {} not finite (analytic {}, numeric {})", input, index, what, analytic, numeric);
    }
};

// J along a random direction h from x: J(x + eps h), with J(x) and ∇J·h from the tape.
// h has normal elements (drawn from the seed) scaled so that max |h| = 1.
class DirectionalProbe {
public:
    DirectionalProbe(const GradcheckFunction& f, const std::vector<GradcheckInput>& inputs, std::uint64_t seed)
        : projected_(f, seed), x_(inputs), shifted_(inputs) {
        std::vector<xt::xarray<double>> gradient;
        value_ = projected_.evaluate(inputs, &gradient, &magnitude_);
        std::mt19937_64 rng(seed + 2);  // seed: the projection, seed + 1: gradcheck's fast directions
        std::normal_distribution<double> normal(0.0, 1.0);
        double largest = 0;
        for (const auto& in : inputs) {
            xt::xarray<double> h = xt::empty<double>(in.value.shape());
            for (double& e : h) {
                e = normal(rng);
                largest = std::max(largest, std::abs(e));
            }
            h_.push_back(std::move(h));
        }
        for (std::size_t k = 0; k < h_.size(); ++k) {
            for (std::size_t i = 0; i < h_[k].size(); ++i) {
                h_[k].flat(i) /= largest;
                slope_ += gradient[k].flat(i) * h_[k].flat(i);
            }
        }
        moves_ = largest > 0;
    }

    double at(double eps) {
        for (std::size_t k = 0; k < x_.size(); ++k) {
            xt::noalias(shifted_[k].value) = x_[k].value + eps * h_[k];
        }
        return projected_.evaluate(shifted_, nullptr);
    }

    double value() const { return value_; }
    double slope() const { return slope_; }
    // sum |v * y| at x: rounding in the sum alone is a few ulps of it.
    double magnitude() const { return magnitude_; }
    // False when the inputs have no element, so that h is empty.
    bool moves() const { return moves_; }
    const std::vector<xt::xarray<double>>& direction() const { return h_; }
    GradcheckFunction scalar() const { return projected_.scalar(); }

private:
    Projected projected_;
    const std::vector<GradcheckInput>& x_;
    std::vector<GradcheckInput> shifted_;
    std::vector<xt::xarray<double>> h_;
    double value_ = 0;
    double slope_ = 0;
    double magnitude_ = 0;
    bool moves_ = false;
};

// The rate each residual must reach (pyadjoint's thresholds); R0's is not tested.
constexpr double required_rate[] = {0, 1.9, 2.85};
// A residual counts towards a rate only this far above the rounding level: its
// own rounding then moves the rate by less than 0.02.
constexpr double significant_over_rounding = 100;
// Second differences of a smooth J fall at rate 2 (4 where hᵀHh vanishes); across a kink at
// rate 1, and faster than 4 between a step that straddles it and one that does not.
constexpr double smooth_rate_low = 1.5, smooth_rate_high = 4.5;
// The steps end at the smallest one whose highest residual is still this far above
// rounding: its rounding then moves the last rate by less than 0.003.
constexpr double smallest_over_rounding = 1e3;
// The ladder of steps max_eps / 2^j stops here at the latest (2^-60 of max_eps).
constexpr int max_halvings = 60;

// J on both sides of x at one step of the ladder.
struct Step {
    double eps = 0;
    double ahead = 0;   // J(x + eps h)
    double behind = 0;  // J(x - eps h)
};

// The residual of `order` at eps from J's change: |change - eps slope - eps²/2 curvature| up to that order.
double residual(int order, double eps, double change, double slope, double curvature) {
    double r = change;
    if (order >= 1) r -= eps * slope;
    if (order >= 2) r -= eps * eps / 2 * curvature;
    return std::abs(r);
}

// The rates of one series and whether its residuals stay at rounding level.
void measure_rates(TaylorSeries& series, double significant) {
    const auto& r = series.residuals;
    series.at_rounding = std::all_of(r.begin(), r.end(), [&](double v) { return v <= significant; });
    series.min_rate = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t k = 0; k + 1 < r.size(); ++k) {
        const bool above = r[k] > significant && r[k + 1] > significant;
        const double rate = above ? std::log2(r[k] / r[k + 1]) : std::numeric_limits<double>::quiet_NaN();
        series.rates.push_back(rate);
        if (above && !(rate >= series.min_rate)) series.min_rate = rate;
    }
}

// Why a series of order >= 1 fails, or empty. A series at rounding level passes only
// when the steps start at the top of the ladder: smaller steps may just be too small to
// show the next term.
std::string series_problem(const TaylorSeries& s, const std::vector<double>& eps, bool steps_from_top) {
    if (s.at_rounding) {
        if (steps_from_top) return {};
        return fmt::format(
            "R{} is at rounding level at every step below the kink: J may be linear along h there, or the "
            "steps too small to show its eps^{} term",
            s.order, s.expected_rate);
    }
    if (std::isnan(s.min_rate)) {
        return fmt::format("R{} is above rounding at too few steps to give a rate", s.order);
    }
    if (s.min_rate >= s.required_rate) return {};
    std::size_t k = 0;
    while (!(s.rates[k] == s.min_rate)) ++k;
    const char* what = s.order == 1 ? "the gradient along h disagrees with J's change"
                                    : "the curvature along h disagrees with J's change";
    return fmt::format("R{} falls at rate {:.2f} between eps {:.2e} and {:.2e}, below {} (expected {}): {}", s.order,
                       s.min_rate, eps[k], eps[k + 1], s.required_rate, s.expected_rate, what);
}

}  // namespace

TaylorResult taylor_test(const GradcheckFunction& f, const std::vector<GradcheckInput>& inputs,
                         const TaylorOptions& options) {
    if (options.steps < 3 || !(options.max_eps > 0) || !(options.eps0 >= 0)) {
        throw ValueError(
            fmt::format("taylor_test: steps must be at least 3 (got {}), max_eps positive (got {}) and "
                        "eps0 zero or positive (got {})",
                        options.steps, options.max_eps, options.eps0));
    }
    TaylorResult result;
    DirectionalProbe probe(f, inputs, options.seed);
    result.value = probe.value();
    result.slope = probe.slope();
    const bool second_order = static_cast<bool>(options.curvature);
    result.curvature = second_order ? options.curvature(probe.scalar(), inputs, probe.direction())
                                    : std::numeric_limits<double>::quiet_NaN();
    if (!std::isfinite(result.value) || !std::isfinite(result.slope) ||
        (second_order && !std::isfinite(result.curvature))) {
        result.problem = fmt::format("not finite at x: J {}, ∇J·h {}{}", result.value, result.slope,
                                     second_order ? fmt::format(", hᵀHh {}", result.curvature) : "");
        return result;
    }
    if (!probe.moves()) {
        result.problem = "the inputs have no element to move";
        return result;
    }

    // Rounding: at steps this small the expansion's terms (d² ~ 1e-20) are far below it,
    // and the second difference cancels the linear one, so what is left is rounding.
    double noise = 0;
    for (const double d : {1.0e-10, 1.25e-10, 1.5e-10, 1.75e-10}) {
        noise = std::max(noise, std::abs(probe.at(d) + probe.at(-d) - 2 * result.value) / 2);
    }
    result.rounding = std::max(noise, std::ldexp(probe.magnitude(), -52));
    const int top = second_order ? 2 : 1;
    const double significant = significant_over_rounding * result.rounding;
    const std::size_t steps = static_cast<std::size_t>(options.steps);

    // The ladder: eps0 / 2^k for a given eps0; else max_eps / 2^j down to where J's change
    // itself (R0) is at rounding level, so that the window can be chosen from what it shows.
    std::vector<Step> ladder;
    for (int j = 0; j <= max_halvings; ++j) {
        const double eps = std::ldexp(options.eps0 > 0 ? options.eps0 : options.max_eps, -j);
        const Step step{eps, probe.at(eps), probe.at(-eps)};
        if (!std::isfinite(step.ahead) || !std::isfinite(step.behind)) {
            result.problem = fmt::format("J(x ± eps h) is not finite at eps {:.3g}", eps);
            return result;
        }
        ladder.push_back(step);
        const bool enough = ladder.size() >= steps;
        if (options.eps0 > 0 ? enough : enough && std::abs(step.ahead - result.value) <= significant) break;
    }
    const auto residual_at = [&](int order, const Step& step) {
        return residual(order, step.eps, step.ahead - result.value, result.slope, result.curvature);
    };

    // Kinks: the second differences J(x + eps h) + J(x - eps h) - 2 J(x), which do not involve
    // the gradient, fall as eps² where J is smooth. A pair of steps whose rate leaves [1.5, 4.5]
    // (the smaller one taken as at least the rounding level, so that a drop from well above
    // rounding to nothing counts) has a kink within the larger; the window starts two steps below.
    std::size_t smooth_from = 0;
    for (std::size_t k = 0; k + 1 < ladder.size(); ++k) {
        const auto second_difference = [&](const Step& st) {
            return std::abs(st.ahead + st.behind - 2 * result.value);
        };
        const double a = second_difference(ladder[k]), b = second_difference(ladder[k + 1]);
        if (a <= significant) continue;
        const double rate = std::log2(a / std::max(b, result.rounding));
        if (rate < smooth_rate_low || rate > smooth_rate_high) smooth_from = k + 2;
    }
    // The window of `steps` steps: with a given eps0, the ladder itself; else ending at the
    // smallest smooth step whose highest residual is still smallest_over_rounding times the
    // rounding level (the smallest steps find the smallest gradient errors), and starting
    // no higher than smooth_from.
    std::size_t start = 0;
    if (options.eps0 == 0) {
        std::size_t last_above = smooth_from;
        for (std::size_t k = smooth_from; k < ladder.size(); ++k) {
            if (residual_at(top, ladder[k]) >= smallest_over_rounding * result.rounding) last_above = k;
        }
        start = std::max(smooth_from, last_above + 1 >= steps ? last_above + 1 - steps : 0);
        start = std::min(start, ladder.size() >= steps ? ladder.size() - steps : 0);
    }
    const std::size_t end = std::min(ladder.size(), start + steps);

    for (int order = 0; order <= top; ++order) {
        TaylorSeries series{order, order + 1.0, required_rate[order], {}, {}, 0, false};
        for (std::size_t k = start; k < end; ++k) series.residuals.push_back(residual_at(order, ladder[k]));
        measure_rates(series, significant);
        result.series.push_back(std::move(series));
    }
    for (std::size_t k = start; k < end; ++k) result.eps.push_back(ladder[k].eps);

    if (smooth_from > 0) {
        const double kink = ladder[smooth_from - 1].eps;
        if (smooth_from > start) {  // a given eps0, or a ladder too short to go below the kink
            result.note = fmt::format("J's second differences show a kink along h within {:.2e} of x, which the "
                                      "larger steps straddle", kink);
        } else {
            result.note = fmt::format("steps below {:.2e}: J's second differences show a kink along h at larger "
                                      "ones", kink);
        }
    }
    if (result.series[0].at_rounding) {
        result.problem = "J does not change along h above rounding: there is nothing to compare";
        return result;
    }
    for (const auto& series : result.series) {
        if (series.order == 0 || !result.problem.empty()) continue;
        result.problem = series_problem(series, result.eps, start == 0);
    }
    if (!result.problem.empty() && smooth_from > 0) result.problem = result.note + ": " + result.problem;
    result.passed = result.problem.empty();
    return result;
}

std::vector<DifferenceError> central_difference_errors(const GradcheckFunction& f,
                                                       const std::vector<GradcheckInput>& inputs,
                                                       const std::vector<double>& steps, std::uint64_t seed) {
    DirectionalProbe probe(f, inputs, seed);
    std::vector<DifferenceError> errors;
    for (const double step : steps) {
        const double numeric = (probe.at(step) - probe.at(-step)) / (2 * step);
        errors.push_back({step, std::abs(numeric - probe.slope())});
    }
    return errors;
}

namespace {

// Compares `analytic`, the derivative of a scalar function `at` of the inputs
// (one array per input), with its central differences: element by element,
// or in fast mode along random directions.
template <class At>
GradcheckResult compare_with_differences(const std::vector<xt::xarray<double>>& analytic, At at,
                                         const std::vector<GradcheckInput>& inputs, const GradcheckOptions& options) {
    Tracker tracker{options, {}, {}};
    std::vector<GradcheckInput> shifted = inputs;
    const double eps = options.eps;
    if (!options.fast) {
        for (std::size_t k = 0; k < inputs.size(); ++k) {
            auto& x = shifted[k].value;
            for (std::size_t i = 0; i < x.size(); ++i) {
                const double original = x.flat(i);
                x.flat(i) = original + eps;
                const double plus = at(shifted);
                x.flat(i) = original - eps;
                const double minus = at(shifted);
                x.flat(i) = original;
                tracker.compare(inputs[k].name, i, analytic[k].flat(i), (plus - minus) / (2 * eps));
            }
        }
        return tracker.result;
    }
    // Fast mode: for a random direction u over all inputs, the directional
    // derivative (f(x + eps u) - f(x - eps u)) / 2 eps must equal analytic . u.
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
        const double plus = at(shifted);
        for (std::size_t k = 0; k < inputs.size(); ++k) shifted[k].value = inputs[k].value - eps * direction[k];
        const double minus = at(shifted);
        tracker.compare("direction", static_cast<std::size_t>(d), analytic_dot, (plus - minus) / (2 * eps));
    }
    return tracker.result;
}

GradcheckResult not_finite_output(double value) {
    GradcheckResult result;
    result.passed = false;
    result.problem = fmt::format("the output is not finite ({})", value);
    return result;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFunction& f, const std::vector<GradcheckInput>& inputs,
                          const GradcheckOptions& options) {
    Projected projected(f, options.seed);
    std::vector<xt::xarray<double>> analytic;
    const double value = projected.evaluate(inputs, &analytic);
    if (!std::isfinite(value)) return not_finite_output(value);
    return compare_with_differences(
        analytic, [&](const std::vector<GradcheckInput>& at) { return projected.evaluate(at, nullptr); }, inputs,
        options);
}

GradcheckResult gradgradcheck(const GradcheckFunction& f, const std::vector<GradcheckInput>& inputs,
                              const GradcheckOptions& options) {
    Projected projected(f, options.seed);
    std::vector<xt::xarray<double>> first_order;
    const double value = projected.evaluate(inputs, &first_order);  // also draws the projection of f's output
    if (!std::isfinite(value)) return not_finite_output(value);
    std::mt19937_64 rng(options.seed + 3);  // seed: the projection, + 1: fast directions, + 2: Taylor's h
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<xt::xarray<double>> direction;
    for (const auto& in : inputs) {
        xt::xarray<double> v = xt::empty<double>(in.value.shape());
        for (double& e : v) e = normal(rng);
        direction.push_back(std::move(v));
    }
    // H v from the tape: the vector-Jacobian product of ∇J (from a create_graph
    // sweep) with v, as xtape::hvp.
    Tape<double> tape;
    std::vector<Var<double>> leaves;
    for (const auto& in : inputs) leaves.push_back(tape.leaf(in.value));
    const Var<double> j = projected.scalar()(tape, leaves);
    const std::vector<Var<double>> g = grad(j, std::span<const Var<double>>(leaves), {.create_graph = true});
    const std::vector<xt::xarray<double>> hv = tape.gradient_arrays(g, direction, leaves);
    // The recorded gradient must be the first-order one (which gradcheck
    // checks): a second derivative is only as right as what it differentiates.
    Tracker recorded{options, {}, {}};
    for (std::size_t k = 0; k < g.size(); ++k) {
        for (std::size_t i = 0; i < first_order[k].size(); ++i) {
            recorded.compare(inputs[k].name, i, g[k].value().flat(i), first_order[k].flat(i));
        }
    }
    // The central differences of <∇J, v>, with ∇J from first-order sweeps.
    const auto along_direction = [&](const std::vector<GradcheckInput>& at) {
        std::vector<xt::xarray<double>> grads;
        projected.evaluate(at, &grads);
        double total = 0;
        for (std::size_t k = 0; k < grads.size(); ++k) {
            for (std::size_t i = 0; i < grads[k].size(); ++i) total += grads[k].flat(i) * direction[k].flat(i);
        }
        return total;
    };
    GradcheckResult result = compare_with_differences(hv, along_direction, inputs, options);
    if (!recorded.result.passed) {
        const GradcheckResult& r = recorded.result;
        result.passed = false;
        result.problem = fmt::format("the create_graph gradient {}[{}] is {}, the first-order one {}", r.worst_input,
                                     r.worst_index, r.worst_analytic, r.worst_numeric);
    }
    return result;
}

std::string to_string(const TaylorResult& r) {
    if (!r.problem.empty()) return fmt::format("FAILED: {}", r.problem);
    std::string text = "passed:";
    for (const auto& s : r.series) {
        if (s.order == 0) continue;
        text += s.at_rounding ? fmt::format(" R{} at rounding level at every step;", s.order)
                              : fmt::format(" R{} rate >= {:.2f} (needs {});", s.order, s.min_rate, s.required_rate);
    }
    text.back() = ' ';
    text += fmt::format("eps {:.2e} .. {:.2e}", r.eps.front(), r.eps.back());
    return r.note.empty() ? text : text + " (" + r.note + ")";
}

std::string to_string(const GradcheckResult& r) {
    if (r.checked == 0) return r.problem.empty() ? "passed: nothing to compare" : fmt::format("failed: {}", r.problem);
    const std::string counts = r.passed ? fmt::format("passed: {} compared", r.checked)
                                        : fmt::format("FAILED: {}{} of {} outside tolerance",
                                                      r.problem.empty() ? "" : r.problem + "; ", r.failures, r.checked);
    return fmt::format(
        "{}, max abs error {:.3g}, max rel error {:.3g}; worst {}[{}]: analytic {:.17g}, numeric {:.17g} "
        "({:.3g} x its tolerance)",
        counts, r.max_abs_error, r.max_rel_error, r.worst_input, r.worst_index, r.worst_analytic, r.worst_numeric,
        r.worst_tolerance_ratio);
}

}  // namespace xtape
