// Whether the float version of a loss agrees with the double one.
#pragma once

#include <string>

#include "xtape/losses/registry.hpp"

namespace xtape::tool {

/// The worst disagreement between float and double over the loss output and
/// every gradient of its sum. An element agrees when
/// |float - double| <= rtol * (|double| + floor * scale), scale = max(1, max |double|
/// over that array); `max_rel_error` is the largest |float - double| / (|double| + floor * scale).
struct PrecisionResult {
    bool passed = true;
    double max_rel_error = 0;
    std::string worst;  // "grad_pred[3]: float 0.1234567, double 0.1234568"
};

/// rtol: float's unit roundoff is 6e-8; the inputs are rounded to float
/// (6e-8 relative each) and a loss chains ~10 primitives and reductions over
/// at most a few hundred elements, whose rounding errors grow to ~1e-6 in the
/// worst case. 1e-5 leaves a factor of ten, while the float-only bugs this
/// catches (a constant like 1e-12 lost in float, an overflow to inf, an
/// accumulator of the wrong type) are off by 1e-3 or more.
inline constexpr double float_rtol = 1e-5;
/// The absolute floor, as a fraction of the array's scale: an element that is
/// a difference of O(scale) terms (softmax minus one-hot) carries an absolute
/// error of a few float ulps of the scale, so its relative error means nothing.
inline constexpr double float_floor = 0.1;

/// Evaluates the loss in float and in double on the same inputs (rounded to
/// float for the float run) and compares. Throws the loss's errors.
PrecisionResult compare_float_with_double(const LossInfo& loss, const OptionMap& options,
                                          const ArrayMap<double>& inputs);

}  // namespace xtape::tool
