// A loss at one configuration: its arrays, and the loss as the function the checks differentiate.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "configuration.hpp"
#include "xtape/gradcheck.hpp"

namespace xtape::tool {

/// The arrays of a configuration (sampled, the user's replacing those of the
/// same name) and the loss as a function of its differentiable inputs, the
/// others held constant: what gradcheck and taylor_test take.
class LossPoint {
public:
    /// Throws the sampler's errors (a shape the loss does not take).
    LossPoint(const LossInfo& loss, const Configuration& configuration);
    // The functions refer to the point: it stays where it is.
    LossPoint(const LossPoint&) = delete;
    LossPoint& operator=(const LossPoint&) = delete;

    const ArrayMap<double>& inputs() const { return inputs_; }
    /// The differentiable inputs, in the order of the functions' leaves.
    const std::vector<GradcheckInput>& differentiable() const { return differentiable_; }
    /// The loss in double, forward and backward.
    GradcheckFunction function() const;
    /// The loss with a double forward pass and a float backward pass (float_gradient.hpp).
    GradcheckFunction float_gradient_function() const;

private:
    const LossInfo& loss_;
    const OptionMap& options_;
    ArrayMap<double> inputs_;
    std::vector<std::string> names_;
    std::vector<GradcheckInput> differentiable_;
};

/// The loss's own message when it rejects the configuration (sampling it, or
/// applying the loss to it once), else nothing.
std::optional<std::string> rejection(const LossInfo& loss, const Configuration& configuration);

/// Refuses, before anything is checked, a configuration the loss rejects when
/// the user chose part of it: UsageError (exit 2) when an option given with
/// --opt is at fault (the configuration without the user's options is
/// accepted), DataError (exit 3) when --shape or --in is. Either carries the
/// loss's message and the configuration. A configuration wholly of the
/// registry's making that the loss rejects is left to the check, which reports
/// it as a failure: it is a bug of the registry.
void refuse_rejected_choice(const LossInfo& loss, const Configuration& configuration, const GridRequest& request);

}  // namespace xtape::tool
