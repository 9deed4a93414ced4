// Standardisation: centring each feature column and scaling it to unit variance.
#pragma once

#include <xtensor/xarray.hpp>

namespace xtape {

/// z = (x - mean) / scale per column, with the mean and the (population)
/// standard deviation learnt from training data only, so that test data is
/// transformed with the same numbers. A constant column gets scale 1.
template <class T>
class Standardizer {
public:
    /// Learns the per-column mean and standard deviation of a 2-D `x` (rows are
    /// samples). Throws ShapeError when x is not 2-D or has no rows.
    static Standardizer fit(const xt::xarray<T>& x);

    /// (x - mean) / scale for a 2-D `x` with the fitted number of columns;
    /// throws ShapeError otherwise.
    xt::xarray<T> transform(const xt::xarray<T>& x) const;

    /// The fitted per-column mean, shape (columns,).
    const xt::xarray<T>& mean() const { return mean_; }
    /// The fitted per-column standard deviation (1 for a constant column), shape (columns,).
    const xt::xarray<T>& scale() const { return scale_; }

private:
    Standardizer(xt::xarray<T> mean, xt::xarray<T> scale) : mean_(std::move(mean)), scale_(std::move(scale)) {}

    xt::xarray<T> mean_;   // (columns,)
    xt::xarray<T> scale_;  // (columns,)
};

}  // namespace xtape
