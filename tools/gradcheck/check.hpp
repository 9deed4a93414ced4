// Checking one configuration of a loss: a finite value, gradients (or
// Hessian-vector products) against central differences, and float against double.
#pragma once

#include <string>
#include <vector>

#include "configuration.hpp"
#include "precision.hpp"
#include "xtape/gradcheck.hpp"

namespace xtape::tool {

/// How the derivatives are checked. With `float_gradients`, the analytic
/// gradients come from the float version of the loss (the central differences
/// still from double), so that --dtype float32 checks float's backward pass
/// (first order only: that backward pass runs inside one node, which cannot
/// be differentiated again).
/// `orders` are those checked, in order: 1, gradients; 2, Hessian-vector
/// products. `taylor` is how the Taylor test of each loss probes.
struct CheckSettings {
    GradcheckOptions gradcheck;
    bool float_gradients = false;
    TaylorOptions taylor;
    std::vector<int> orders{1, 2};
};

/// The outcome of one configuration at one order.
struct CheckRecord {
    std::string loss;
    Configuration configuration;
    /// 1: the gradient of each input; 2: the Hessian-vector product H v for a random v.
    int order = 1;
    /// gradcheck's report at order 1, gradgradcheck's (the elements of H v) at order 2.
    GradcheckResult gradient;
    /// Float against double, at order 1 only.
    PrecisionResult precision;
    /// Why the configuration failed or could not run, else empty.
    std::string problem;

    bool passed() const { return problem.empty(); }
};

/// Samples the configuration's inputs and checks that the loss value is finite,
/// then at order 1 that xtape::gradcheck agrees (it differentiates sum(v * output)
/// for a random positive v, which checks the gradient of sum(output) and every
/// row of the Jacobian at once) and float agrees with double; at order 2 that
/// xtape::gradgradcheck agrees (H v of the same sum against central differences
/// of its gradient). Never throws for the loss's errors: they become the
/// record's problem.
CheckRecord check_configuration(const LossInfo& loss, const Configuration& configuration, int order,
                                const CheckSettings& settings);

}  // namespace xtape::tool
