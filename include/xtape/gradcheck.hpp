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
    /// Seed of the random projection v of a non-scalar output, and of u.
    std::uint64_t seed = 0;
};

/// The outcome, with the worst element: which input, which flat index, both
/// values and the errors. In fast mode `input` is "direction k" and the index
/// is the direction.
struct GradcheckResult {
    /// True when every compared element (or direction) is within tolerance and no problem occurred.
    bool passed = true;
    /// Elements (full mode) or directions (fast mode) compared.
    std::size_t checked = 0;
    /// Largest |analytic - numeric|.
    double max_abs_error = 0;
    /// Largest |analytic - numeric| / |numeric| (0 where numeric is 0).
    double max_rel_error = 0;
    /// Name of the input holding the worst element.
    std::string worst_input;
    /// Flat index of the worst element in that input.
    std::size_t worst_index = 0;
    /// The tape's gradient at the worst element.
    double worst_analytic = 0;
    /// The central difference at the worst element.
    double worst_numeric = 0;
    /// Why a check could not run (e.g. a non-finite output), else empty.
    std::string problem;
};

/// The function under test: takes leaves on a fresh tape (one per input, in
/// order) and returns any output. A non-scalar output y is checked through
/// sum(v * y) for a fixed random v, which tests every row of the Jacobian at once.
using GradcheckFunction = std::function<Var<double>(Tape<double>&, const std::vector<Var<double>>&)>;

/// Compares the tape's gradients of `f` with central differences.
GradcheckResult gradcheck(const GradcheckFunction& f, const std::vector<GradcheckInput>& inputs,
                          const GradcheckOptions& options = {});

/// "passed: 12 elements, max abs error 1.2e-10, max rel error 3e-9" or the worst element.
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
