// Gradient clipping by the norm of all gradients together.
#pragma once

#include <vector>

#include "xtape/nn/parameter.hpp"

namespace xtape {

/// The 2-norm of all the parameters' gradients taken together (a parameter
/// without gradient counts as zeros); when it exceeds max_norm, scales every
/// gradient in place by max_norm / (norm + 1e-6), as PyTorch's
/// clip_grad_norm_. Returns the norm before scaling. A norm that is not finite
/// is returned and leaves the gradients as they are. Call it between backward
/// and the optimizer's step. Throws ValueError unless max_norm > 0.
template <class T>
double clip_grad_norm(const std::vector<Parameter<T>>& parameters, double max_norm);

}  // namespace xtape
