// Evaluating a model: its output without gradients, the predicted classes, the accuracy.
#pragma once

#include <xtensor/xarray.hpp>

#include "xtape/tape.hpp"

namespace xtape {

/// model(x) computed on a tape of its own with gradients disabled (no
/// backward functions recorded), as a plain array. `model` is any callable
/// taking a Var<T> and returning one (Dense, MLP, a lambda). The parameters it
/// uses are not disturbed: while they are on a training tape, predict uses
/// copies of their values.
template <class T, class Model>
xt::xarray<T> predict(const Model& model, const xt::xarray<T>& x) {
    Tape<T> tape;
    NoGradGuard<T> no_grad(tape);
    return model(tape.constant(x)).value();
}

/// The index of the largest entry of each row of a 2-D array of scores (the
/// first one at a tie), as T: the predicted classes, comparable with labels
/// stored as T. Throws ShapeError unless `scores` is 2-D with at least one column.
template <class T>
xt::xarray<T> argmax_rows(const xt::xarray<T>& scores);

/// The fraction of positions where `predicted` equals `labels`. Throws
/// ShapeError when their shapes differ or they are empty.
template <class T>
double accuracy(const xt::xarray<T>& predicted, const xt::xarray<T>& labels);

}  // namespace xtape
