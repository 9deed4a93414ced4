// Turning the text of the command line into losses, options, shapes and input files.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "configuration.hpp"
#include "xtape/losses/registry.hpp"

namespace xtape::tool {

/// Splits "NAME=VALUE" at the first '='. Throws UsageError naming `flag` when
/// there is no '=' or the name is empty.
std::pair<std::string, std::string> split_assignment(const std::string& text, const char* flag);

/// The loss with this class name or alias (any case); UsageError listing the
/// known names otherwise.
const LossInfo& loss_named(const std::string& name);

/// The options given as NAME=VALUE, validated by the loss itself (names, types,
/// choices, ranges): UsageError with the loss's message otherwise. A later
/// assignment of the same name wins.
OptionMap parse_options(const LossInfo& loss, const std::vector<std::string>& assignments);

/// The loss's error message, prefixed with "LOSS: " unless it already names the loss.
std::string naming_loss(const LossInfo& loss, const std::string& message);

/// The files of `FLAG NAME=FILE` assignments (--in, --hvp) by input name:
/// UsageError naming the flag for a name the loss does not take, or one given twice.
std::map<std::string, std::string> input_files(const LossInfo& loss, const std::vector<std::string>& assignments,
                                               const char* flag = "--in");

/// The arrays of those files, converted to T: DataError naming the file when one
/// cannot be read (or is not a .npy file xtape reads).
template <class T>
ArrayMap<T> read_inputs(const std::map<std::string, std::string>& files);

/// The input whose shape the registry's samplers and check shapes call the pred
/// shape (pred, or CosineEmbeddingLoss's input1): the first input whose sampled
/// array has the loss's first check shape.
std::string shape_input(const LossInfo& loss);

/// The losses a check or Taylor test covers, each with what the command line
/// fixes: `names` (every loss when empty), the options (validated by each
/// loss), the shape, the seed and the --in arrays (read as double). UsageError
/// for --in with other than one loss, or a --shape that is not the shape of
/// the given pred; DataError for a file that cannot be read.
std::vector<std::pair<const LossInfo*, GridRequest>> loss_requests(const std::vector<std::string>& names,
                                                                   const std::vector<std::string>& options,
                                                                   const std::string& shape,
                                                                   const std::vector<std::string>& inputs,
                                                                   std::optional<std::uint64_t> seed);

/// "4,10" -> (4, 10). Every size at least 1 and at most max_elements elements
/// in all; UsageError otherwise.
Shape parse_shape(const std::string& text);

/// The largest pred --shape accepts: a full gradient check costs two loss
/// evaluations per element, so anything near this is already slow.
inline constexpr std::size_t max_elements = 1 << 20;
inline constexpr std::size_t max_rank = 16;

}  // namespace xtape::tool
