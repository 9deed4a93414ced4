// One configuration of the gradient check, and the grid of them for a loss.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xtape/losses/registry.hpp"

namespace xtape::tool {

/// A loss applied to one set of sampled inputs: the options set explicitly
/// (the others keep their defaults), the pred shape, which inputs are given
/// (in the loss's order) and the sampling seed.
struct Configuration {
    OptionMap options;
    Shape pred_shape;
    std::vector<std::string> inputs;
    std::uint64_t seed = 0;
};

/// "(3, 4) seed=0 axis=1 sparse_label=false": the shape, the seed and the options set.
std::string describe(const Configuration& configuration);

/// What the command line fixes; what it leaves open, the grid varies.
struct GridRequest {
    OptionMap fixed_options;
    std::optional<Shape> shape;
    std::optional<std::uint64_t> seed;
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
/// Options in `fixed_options` are never varied.
std::vector<Configuration> configuration_grid(const LossInfo& loss, const GridRequest& request);

}  // namespace xtape::tool
