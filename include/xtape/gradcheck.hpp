// Checking analytic gradients against central finite differences, in double.
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

/// One line: "passed: 12 compared, max abs error 1.2e-10, max rel error 3e-09; worst x[3]: analytic ...,
/// numeric ..." or "FAILED: 2 of 12 outside tolerance, ...", with the problem first when there is one.
std::string to_string(const GradcheckResult& result);

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
