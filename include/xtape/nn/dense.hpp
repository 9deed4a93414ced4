// A fully connected layer: y = activation(x W + b).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "xtape/data/random.hpp"
#include "xtape/nn/activation.hpp"
#include "xtape/nn/parameter.hpp"

namespace xtape {

/// y = activation(x W + b) for x of shape (N, in): W is (in, out), b is (out,).
/// W starts He normal before a relu-like activation (relu, leaky_relu, elu,
/// gelu) and Glorot uniform otherwise; b starts at 0.
template <class T>
class Dense {
public:
    /// Parameters are named "<name>.weight" and "<name>.bias". Throws
    /// ValueError when a size is 0.
    Dense(std::size_t in_features, std::size_t out_features, Activation activation, Rng& rng,
          const std::string& name = "dense");

    /// The layer on x's tape; throws ShapeError when x is not (N, in_features).
    Var<T> operator()(const Var<T>& x) const;

    /// Number of input features, the rows of W.
    std::size_t in_features() const { return weight_.shape()[0]; }
    /// Number of outputs, the columns of W.
    std::size_t out_features() const { return weight_.shape()[1]; }
    /// The activation applied after x W + b.
    Activation activation() const { return activation_; }
    /// W, shape (in, out).
    const Parameter<T>& weight() const { return weight_; }
    /// b, shape (out,).
    const Parameter<T>& bias() const { return bias_; }
    /// {weight, bias}: handles sharing the layer's values.
    std::vector<Parameter<T>> parameters() const { return {weight_, bias_}; }

private:
    Parameter<T> weight_;
    Parameter<T> bias_;
    Activation activation_;
};

}  // namespace xtape
