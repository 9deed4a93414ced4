// One configuration of the gradient check, and the grid of them for a loss.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xtape/losses/registry.hpp"

namespace xtape::tool {

/// A loss applied to one set of inputs: the options set explicitly (the others
/// keep their defaults), the pred shape, which inputs are given (in the loss's
/// order), the sampling seed, and the user's own arrays (--in), which replace
/// the sampled ones of the same name.
struct Configuration {
    OptionMap options;
    Shape pred_shape;
    std::vector<std::string> inputs;
    std::uint64_t seed = 0;
    std::shared_ptr<const ArrayMap<double>> given = std::make_shared<const ArrayMap<double>>();
};

/// "(3, 4) seed=0 axis=1 sparse_label=false", and "given=pred,label" for the user's arrays.
std::string describe(const Configuration& configuration);

/// What the command line fixes; what it leaves open, the grid varies.
struct GridRequest {
    OptionMap fixed_options;
    std::optional<Shape> shape;
    std::optional<std::uint64_t> seed;
    /// The user's arrays (--in): the grid is then the one configuration at them.
    std::shared_ptr<const ArrayMap<double>> given = std::make_shared<const ArrayMap<double>>();
};

/// The configurations the check runs for `loss`, without duplicates, each for
/// seeds 0 and 1 (or the requested seed):
/// - every check shape (or the requested one) with the required inputs;
/// - every shape with sample_weight, and with every input and a non-default
///   weight (the two weightings together);
/// - every other optional input on its own (pos_weight, lengths);
/// - each option's grid values one at a time from the defaults, with
///   sample_weight, on the first shape; batch_axis values on every shape whose
///   rank has that axis.
/// Options in `fixed_options` are never varied, and a grid value the loss
/// accepts alone but rejects with them is left out. With the user's arrays, the one
/// configuration of the fixed options, the requested seed (or 0), the required
/// inputs and those given, at the shape of the given pred (its shape input).
std::vector<Configuration> configuration_grid(const LossInfo& loss, const GridRequest& request);

/// The one configuration of the Taylor test: the fixed options, the first
/// check shape (or the requested one), the requested seed (or 0) and every
/// input the sampler gives (required and those given, with the user's arrays).
Configuration taylor_configuration(const LossInfo& loss, const GridRequest& request);

}  // namespace xtape::tool
