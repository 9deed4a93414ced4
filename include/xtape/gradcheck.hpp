// Checking analytic gradients in double: against central finite differences, and by the Taylor test.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "xtape/tape.hpp"

namespace xtape {

/// One differentiable input of the function under test.
struct GradcheckInput {
    /// Shown in the result for the worst element, e.g. "pred".
    std::string name;
    /// The point at which the gradient is checked.
    xt::xarray<double> value;
};

/// How gradcheck compares. An element passes when
/// |analytic - numeric| <= atol + rtol * |numeric|.
///
/// The defaults are torch.autograd.gradcheck's. With eps = 1e-6 in double the
/// central difference has truncation error ~eps^2 |f'''| ~ 1e-12 and rounding
/// error ~1e-16 |f| / eps ~ 1e-10 |f|: both far below atol = 1e-5 for the O(1)
/// values the checks use, while a wrong derivative (a missing factor, a sign,
/// a dropped broadcast term) is off by O(|f'|), far above it.
struct GradcheckOptions {
    /// Step h of the central difference (f(x+h) - f(x-h)) / 2h.
    double eps = 1e-6;
    /// Absolute tolerance.
    double atol = 1e-5;
    /// Relative tolerance, times |numeric|.
    double rtol = 1e-3;
    /// Fast mode: instead of one difference per input element, compare
    /// v^T J u for `directions` random directions u (one backward each).
    bool fast = false;
    /// Number of random directions in fast mode.
    int directions = 4;
    /// Seed of the random projection v of an output of several elements, and of u.
    std::uint64_t seed = 0;
};

/// The outcome, with the worst element: which input, which flat index, both
/// values. In fast mode `input` is "direction k" and the index is the direction.
///
/// The worst element is the one furthest outside its tolerance: the largest
/// |analytic - numeric| / (atol + rtol |numeric|), an element whose analytic or
/// numeric value is not finite before any other (the first such one). When
/// every element passes, it is the one closest to its tolerance.
struct GradcheckResult {
    /// True when every compared element (or direction) is within tolerance and no problem occurred.
    bool passed = true;
    /// Elements (full mode) or directions (fast mode) compared.
    std::size_t checked = 0;
    /// Elements (or directions) outside their tolerance, non-finite ones included.
    std::size_t failures = 0;
    /// Largest |analytic - numeric| over every element; infinite when one is not finite.
    double max_abs_error = 0;
    /// Largest |analytic - numeric| / |numeric| (0 where numeric is 0); infinite as above.
    double max_rel_error = 0;
    /// Name of the input holding the worst element.
    std::string worst_input;
    /// Flat index of the worst element in that input.
    std::size_t worst_index = 0;
    /// The tape's gradient at the worst element.
    double worst_analytic = 0;
    /// The central difference at the worst element.
    double worst_numeric = 0;
    /// |analytic - numeric| / (atol + rtol |numeric|) at the worst element: at most 1 passes.
    double worst_tolerance_ratio = 0;
    /// Why the check failed other than by a tolerance, else empty: a non-finite
    /// output ("the output is not finite (nan)"), or the first element whose
    /// gradient or central difference is not finite, named.
    std::string problem;
};

/// The function under test: takes leaves on a fresh tape (one per input, in
/// order) and returns any output. An output y of several elements is checked
/// through sum(v * y) for a fixed random v in [0.5, 1.5], which tests every row
/// of the Jacobian at once, so that the values reported are those of sum(v * y).
/// An output of one element (a scalar loss) is not projected: the values
/// reported are its own derivatives, comparable with a derivative by hand.
using GradcheckFunction = std::function<Var<double>(Tape<double>&, const std::vector<Var<double>>&)>;

/// Compares the tape's gradients of `f` with central differences.
GradcheckResult gradcheck(const GradcheckFunction& f, const std::vector<GradcheckInput>& inputs,
                          const GradcheckOptions& options = {});

/// Checks second derivatives: the Hessian-vector product H v of f (projected
/// to a scalar J as gradcheck does) for a random normal v over all inputs,
/// from a create_graph sweep, against central differences of the first-order
/// gradient, (<∇J(x + eps e_i), v> - <∇J(x - eps e_i), v>) / 2 eps = (H v)_i.
/// The options and the report are gradcheck's: the "analytic" values are the
/// elements of H v. It also fails, saying so in `problem`, when the gradient
/// the create_graph sweep recorded differs from the first-order one. Throws
/// TapeError naming a node of f that cannot be differentiated twice.
GradcheckResult gradgradcheck(const GradcheckFunction& f, const std::vector<GradcheckInput>& inputs,
                              const GradcheckOptions& options = {});

/// hᵀ H h, the second derivative along h at x of a scalar function J given as a
/// GradcheckFunction whose output has one element: what the Taylor test's R2
/// needs. A Hessian-vector product gives it (hᵀ (H h)).
using DirectionalCurvature = std::function<double(const GradcheckFunction& scalar, const std::vector<GradcheckInput>& x,
                                                  const std::vector<xt::xarray<double>>& h)>;

/// How the Taylor test probes. Residuals are taken at `steps` successive halvings
/// eps_k of a step, along a random direction h (normal elements, scaled so that
/// max |h| = 1).
struct TaylorOptions {
    /// Number of steps (at least 3: two rates).
    int steps = 6;
    /// The top of the ladder of steps max_eps / 2^j the steps are chosen from:
    /// with max |h| = 1 no element moves by more.
    double max_eps = 1e-3;
    /// A fixed largest step: the steps are eps0 / 2^k; 0 chooses them (see taylor_test).
    double eps0 = 0;
    /// Seed of the projection v (as gradcheck's) and of the direction h.
    std::uint64_t seed = 0;
    /// hᵀ H h for R2; empty: no R2.
    DirectionalCurvature curvature;
};

/// One residual of the Taylor test at every step, with the rates at which it falls.
struct TaylorSeries {
    /// 0 for R0 = |J(x + eps h) - J(x)|, 1 for R1 = |R0 term - eps ∇J·h|, 2 for R2 = |R1 term - eps²/2 hᵀHh|.
    int order = 0;
    /// order + 1: a residual of order p falls as eps^(p+1).
    double expected_rate = 1;
    /// The rate the test requires of every rate above rounding (R1 1.9, R2 2.85; R0 none, 0).
    double required_rate = 0;
    /// The residual at each step.
    std::vector<double> residuals;
    /// log2(residuals[k] / residuals[k + 1]) where both are above rounding, else NaN.
    std::vector<double> rates;
    /// The smallest rate above rounding; NaN when there is none.
    double min_rate = 0;
    /// Every residual is at rounding level: J agrees with its expansion to rounding along h.
    bool at_rounding = false;
};

/// The outcome of taylor_test: the steps, the residuals and their rates.
struct TaylorResult {
    /// R1 (and R2) fall at their rates over the steps above rounding, or stay at rounding throughout
    /// steps from the top of the ladder (J linear along h).
    bool passed = false;
    /// Why it failed or could not conclude, else empty.
    std::string problem;
    /// What the reader should know: that the steps start below a kink (or straddle one), else empty.
    std::string note;
    /// J(x).
    double value = 0;
    /// ∇J·h from the tape.
    double slope = 0;
    /// hᵀHh from the curvature given; NaN without one.
    double curvature = 0;
    /// The rounding level of J's differences near x, measured; residuals below
    /// 100 times it give no rate.
    double rounding = 0;
    /// The steps eps_k, largest first.
    std::vector<double> eps;
    /// R0, R1, and R2 when a curvature is given.
    std::vector<TaylorSeries> series;
};

/// pyadjoint's Taylor test of the tape's gradient of f (projected to a scalar J
/// as gradcheck does): along a random direction h, R0 = |J(x + eps h) - J(x)|
/// falls as eps, R1 = |J(x + eps h) - J(x) - eps ∇J·h| as eps² when ∇J is right
/// (as eps when it is not), and with a curvature R2 = |R1 term - eps²/2 hᵀHh| as eps³.
/// Passes when every rate of R1 (and R2) above rounding reaches 1.9 (2.85), or
/// when the residual stays at rounding level at every step while R0 does not.
///
/// The steps (unless eps0 is given) are `steps` successive ones of the ladder
/// max_eps / 2^j, which runs down to where J's change itself is at rounding
/// level: the window ends at the smallest step whose highest residual is still
/// 10^3 times the rounding level (the smallest steps show the smallest gradient
/// errors; its rounding moves the last rate by less than 0.003), and starts below
/// any kink. The rounding level is measured: the largest |J(x + d h) + J(x - d h)
/// - 2 J(x)| / 2 over four steps d near 1e-10, where the expansion's terms are
/// far below rounding, and at least 2^-52 sum |v y|. A residual counts towards a
/// rate only when above 100 times that level.
///
/// Kinks: a step across a kink of J along h breaks the expansion whatever the
/// gradient. The second differences J(x + eps h) + J(x - eps h) - 2 J(x), which
/// do not involve the gradient, fall as eps² where J is smooth (eps⁴ where hᵀHh
/// vanishes), as eps across a kink, and faster than eps⁴ between a step that
/// straddles it and one that does not (or drop to rounding). Where their rate
/// leaves [1.5, 4.5] the window starts two steps lower, and the note says so. A
/// point on a kink, or too close to one for steps above rounding, fails naming
/// the kink rather than the gradient.
TaylorResult taylor_test(const GradcheckFunction& f, const std::vector<GradcheckInput>& inputs,
                         const TaylorOptions& options = {});

/// The error of one central difference along h: |(J(x + s h) - J(x - s h)) / 2s - ∇J·h|.
struct DifferenceError {
    /// The step s.
    double step = 0;
    /// |(J(x + s h) - J(x - s h)) / 2s - ∇J·h|.
    double error = 0;
};

/// The error of central differences of J along the Taylor test's direction h
/// (the same seed gives the same h) at each step: the V whose right arm is
/// truncation (~ s²) and left arm rounding (~ 1/s); gradcheck's eps sits near its bottom.
std::vector<DifferenceError> central_difference_errors(const GradcheckFunction& f,
                                                       const std::vector<GradcheckInput>& inputs,
                                                       const std::vector<double>& steps, std::uint64_t seed = 0);

/// One line: "passed: 12 compared, max abs error 1.2e-10, max rel error 3e-09; worst x[3]: analytic ...,
/// numeric ..." or "FAILED: 2 of 12 outside tolerance, ...", with the problem first when there is one.
std::string to_string(const GradcheckResult& result);

/// One line: "passed: R1 rate >= 1.99 (needs 1.9) at eps 2.4e-04 .. 7.5e-06" or the problem.
std::string to_string(const TaylorResult& result);

}  // namespace xtape

/// \cond
// fmt support for GradcheckResult, kept out of the API reference (doxygen knows no fmt).
template <>
struct fmt::formatter<xtape::GradcheckResult> : fmt::formatter<std::string> {
    auto format(const xtape::GradcheckResult& r, format_context& ctx) const {
        return fmt::formatter<std::string>::format(xtape::to_string(r), ctx);
    }
};
/// \endcond
