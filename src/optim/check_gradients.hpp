// The check an optimizer makes of gradients handed to its step.
#pragma once

#include <span>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xarray.hpp>

#include "xtape/errors.hpp"
#include "xtape/nn/parameter.hpp"
#include "xtape/shape.hpp"

namespace xtape::detail {

/// Throws ShapeError naming `optimizer` unless `gradients` holds one array per
/// parameter, in order, each of its parameter's shape.
template <class T>
void check_gradients(const char* optimizer, const std::vector<Parameter<T>>& parameters,
                     std::span<const xt::xarray<T>> gradients) {
    if (gradients.size() != parameters.size()) {
        throw ShapeError(fmt::format("{}::step: {} gradients for {} parameters", optimizer, gradients.size(),
                                     parameters.size()));
    }
    for (std::size_t k = 0; k < parameters.size(); ++k) {
        if (gradients[k].shape() != parameters[k].shape()) {
            throw ShapeError(fmt::format("{}::step: gradient {} has shape {}, but parameter '{}' has shape {}",
                                         optimizer, k, to_string(gradients[k].shape()), parameters[k].name(),
                                         to_string(parameters[k].shape())));
        }
    }
}

}  // namespace xtape::detail
