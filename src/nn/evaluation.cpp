// Evaluating a model: its output without gradients, the predicted classes, the accuracy.
#include "xtape/nn/evaluation.hpp"

#include <fmt/format.h>
#include <xtensor/xbuilder.hpp>

#include "xtape/errors.hpp"
#include "xtape/shape.hpp"

namespace xtape {

template <class T>
xt::xarray<T> argmax_rows(const xt::xarray<T>& scores) {
    if (scores.dimension() != 2 || scores.shape()[1] == 0) {
        throw ShapeError(fmt::format("argmax_rows: argument scores must be 2-D with at least one column, got {}",
                                     to_string(scores.shape())));
    }
    const std::size_t rows = scores.shape()[0], columns = scores.shape()[1];
    xt::xarray<T> classes = xt::empty<T>(Shape{rows});
    for (std::size_t r = 0; r < rows; ++r) {
        const T* row = scores.data() + r * columns;
        std::size_t best = 0;
        for (std::size_t c = 1; c < columns; ++c) best = row[c] > row[best] ? c : best;
        classes(r) = static_cast<T>(best);
    }
    return classes;
}

template <class T>
double accuracy(const xt::xarray<T>& predicted, const xt::xarray<T>& labels) {
    if (predicted.shape() != labels.shape() || labels.size() == 0) {
        throw ShapeError(fmt::format("accuracy: arguments predicted {} and labels {} must have one non-empty shape",
                                     to_string(predicted.shape()), to_string(labels.shape())));
    }
    std::size_t right = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) right += predicted.flat(i) == labels.flat(i) ? 1 : 0;
    return static_cast<double>(right) / static_cast<double>(labels.size());
}

template xt::xarray<float> argmax_rows(const xt::xarray<float>&);
template xt::xarray<double> argmax_rows(const xt::xarray<double>&);
template double accuracy(const xt::xarray<float>&, const xt::xarray<float>&);
template double accuracy(const xt::xarray<double>&, const xt::xarray<double>&);

}  // namespace xtape
