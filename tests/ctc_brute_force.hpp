// A brute-force CTC reference for the tests: every path of a tiny problem enumerated.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

namespace xtape::testing {

/// -log p(label | x) and its gradient with respect to x, for one sample.
struct BruteForceCtc {
    double nll;
    xt::xarray<double> grad;  // (T, C)
};

/// Enumerates all C^T paths π over the frames of x (shape (T, C), blank C-1),
/// collapses each (merge repeats, then drop blanks) and sums
/// P(π) = prod_t softmax(x_t)[π_t] over those that give `label`. The gradient
/// follows from dP(π)/dx_{t,c} = P(π) ([π_t = c] - softmax(x_t)_c):
///   d(-log p)/dx_{t,c} = softmax(x_t)_c - sum_{π -> label} P(π) [π_t = c] / p.
/// Neither uses the CTC recursions, so the test compares two independent routes.
inline BruteForceCtc brute_force_ctc(const xt::xarray<double>& x, const std::vector<std::int64_t>& label) {
    const std::size_t frames = x.shape()[0];
    const std::size_t classes = x.shape()[1];
    const auto blank = static_cast<std::int64_t>(classes - 1);
    xt::xarray<double> prob = xt::zeros<double>(x.shape());
    for (std::size_t t = 0; t < frames; ++t) {
        double z = 0;
        for (std::size_t c = 0; c < classes; ++c) z += std::exp(x(t, c));
        for (std::size_t c = 0; c < classes; ++c) prob(t, c) = std::exp(x(t, c)) / z;
    }
    double p = 0;
    xt::xarray<double> occupancy = xt::zeros<double>(x.shape());
    std::vector<std::int64_t> path(frames, 0);
    std::size_t count = 1;
    for (std::size_t t = 0; t < frames; ++t) count *= classes;
    for (std::size_t k = 0; k < count; ++k) {
        std::size_t rest = k;
        for (std::size_t t = 0; t < frames; ++t, rest /= classes) path[t] = static_cast<std::int64_t>(rest % classes);
        std::vector<std::int64_t> collapsed;
        for (std::size_t t = 0; t < frames; ++t) {
            if (path[t] != blank && (t == 0 || path[t] != path[t - 1])) collapsed.push_back(path[t]);
        }
        if (collapsed != label) continue;
        double pp = 1;
        for (std::size_t t = 0; t < frames; ++t) pp *= prob(t, path[t]);
        p += pp;
        for (std::size_t t = 0; t < frames; ++t) occupancy(t, path[t]) += pp;
    }
    return {-std::log(p), prob - occupancy / p};
}

}  // namespace xtape::testing
