// The loss with a double forward pass and a float backward pass, to check
// float's analytic gradients against double's central differences.
#pragma once

#include <string>
#include <vector>

#include "xtape/gradcheck.hpp"
#include "xtape/losses/registry.hpp"

namespace xtape::tool {

/// A function for xtape::gradcheck whose value is the double loss (so that the
/// central differences keep double accuracy) but whose backward pass runs the
/// float loss and converts its gradients to double. `names` are the
/// differentiable inputs in the order of gradcheck's leaves; the other inputs
/// are held constant. The references must outlive the function.
GradcheckFunction float_gradient_function(const LossInfo& loss, const OptionMap& options,
                                          const ArrayMap<double>& inputs, const std::vector<std::string>& names);

}  // namespace xtape::tool
