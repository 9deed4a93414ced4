// Gradient clipping by the norm of all gradients together.
#include "xtape/optim/clip.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xtape/errors.hpp"

#include "../kernels/simd_loop.hpp"

namespace xtape {

template <class T>
double clip_grad_norm(const std::vector<Parameter<T>>& parameters, double max_norm) {
    if (!(max_norm > 0)) throw ValueError(fmt::format("clip_grad_norm: max_norm must be positive, got {}", max_norm));
    using B = kernels::Batch<T>;
    // Each gradient's sum of squares in T (one vectorised pass), their total in double.
    double squares = 0;
    for (const Parameter<T>& p : parameters) {
        if (!p.has_grad()) continue;
        const xt::xarray<T>& g = p.grad();
        squares += kernels::map_sum<T>(g.size(), [](B v) { return v * v; }, g.data());
    }
    const double norm = std::sqrt(squares);
    const double scale = max_norm / (norm + 1e-6);
    if (std::isfinite(norm) && scale < 1) {
        const B factor(static_cast<T>(scale));
        for (const Parameter<T>& p : parameters) {
            if (!p.has_grad()) continue;
            xt::xarray<T>& g = p.grad();
            kernels::map<T>(g.size(), g.data(), [factor](B v) { return v * factor; }, g.data());
        }
    }
    return norm;
}

template double clip_grad_norm(const std::vector<Parameter<float>>&, double);
template double clip_grad_norm(const std::vector<Parameter<double>>&, double);

}  // namespace xtape
