// The Taylor test of one configuration of a loss, with the error of central differences along its direction.
#pragma once

#include <string>
#include <vector>

#include "configuration.hpp"
#include "xtape/gradcheck.hpp"

namespace xtape::tool {

/// The outcome of the Taylor test of one configuration.
struct TaylorRecord {
    std::string loss;
    Configuration configuration;
    TaylorResult taylor;
    /// |central difference - ∇J·h| along the test's direction at each of difference_steps().
    std::vector<DifferenceError> differences;
    /// Why it failed or could not run, else empty.
    std::string problem;

    bool passed() const { return problem.empty(); }
};

/// The steps of the central differences: 1e-2 down to 1e-13, two per decade.
std::vector<double> difference_steps();

/// hᵀHh from xtape::hvp, for TaylorOptions::curvature: what gives the Taylor test its R2.
double curvature_along(const GradcheckFunction& scalar, const std::vector<GradcheckInput>& x,
                       const std::vector<xt::xarray<double>>& h);

/// Runs xtape::taylor_test and central_difference_errors on the loss at the
/// configuration (with the configuration's seed). Where a sampled point leaves J
/// flat along h (the loss inside its margins everywhere), up to four further
/// seeds (seed + 1000 k) are drawn and the record names the one used; the
/// user's arrays are tested as they are. Never throws for the loss's errors:
/// they become the record's problem.
TaylorRecord taylor_check(const LossInfo& loss, const Configuration& configuration, const TaylorOptions& options);

}  // namespace xtape::tool
