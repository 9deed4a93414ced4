// Checking one configuration of a loss: a finite value, gradients against
// central differences, and float against double.
#pragma once

#include <string>

#include "configuration.hpp"
#include "precision.hpp"
#include "xtape/gradcheck.hpp"

namespace xtape::tool {

/// How the gradients are checked. With `float_gradients`, the analytic
/// gradients come from the float version of the loss (the central differences
/// still from double), so that --dtype float32 checks float's backward pass.
/// `taylor` is how the Taylor test of each loss probes.
struct CheckSettings {
    GradcheckOptions gradcheck;
    bool float_gradients = false;
    TaylorOptions taylor;
};

/// The outcome of one configuration.
struct CheckRecord {
    std::string loss;
    Configuration configuration;
    GradcheckResult gradient;
    PrecisionResult precision;
    /// Why the configuration failed or could not run, else empty.
    std::string problem;

    bool passed() const { return problem.empty(); }
};

/// Samples the configuration's inputs and runs the three checks: the loss
/// value is finite; xtape::gradcheck agrees (it differentiates sum(v * output)
/// for a random positive v, which checks the gradient of sum(output) and every
/// row of the Jacobian at once); float agrees with double. Never throws
/// for the loss's errors: they become the record's problem.
CheckRecord check_configuration(const LossInfo& loss, const Configuration& configuration,
                                const CheckSettings& settings);

}  // namespace xtape::tool
