// The benchmark cases: every loss of the registry at each size, with inputs drawn reproducibly.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "xtape/losses/registry.hpp"

#include "harness.hpp"

namespace xtape::bench {

/// Every input of one loss call by its Gluon name, float32 as benchmarked.
/// Indices (sparse class labels, CTC labels) are whole numbers.
using InputArrays = std::map<std::string, xt::xarray<float>>;

/// A CTC problem: T frames, batch N, C channels (the blank is C-1), labels of length L.
struct CtcSize {
    std::size_t frames, batch, channels, label_length;
};

/// The sizes of the cases.
struct Sizes {
    Shape small;  // (batch, classes): per-op overhead dominates
    Shape large;  // memory bandwidth dominates
    CtcSize ctc_small;
    CtcSize ctc_large;

    /// Issue 7's sizes: 32 x 10, 4096 x 1024, CTC (50,16,20,10) and (200,64,40,40).
    static Sizes full();
    /// Smaller "large" sizes for a smoke test (the JSON shape, not the timings).
    static Sizes quick();
};

struct CaseSpec {
    std::string name;        // "<loss>/small" or "<loss>/large"
    const LossInfo* loss;    // the registry entry
    std::string shape;       // "4096x1024", or "T=200 N=64 C=40 L=40" for CTC
    bool has_bound;          // a bandwidth bound is reported (the large non-CTC cases; CTC is compute-bound)
    std::string grad_input;  // the input differentiated: "pred" ("input1" for CosineEmbeddingLoss)
    bool has_hvp;            // a Hessian-vector product is timed too (the large cases and CTC's)
    /// Draws the inputs (a large case's are drawn only when it runs).
    std::function<InputArrays()> draw;
};

/// What one peer computed on a case, to check that xtape and torch compute the
/// same loss: the sum of the output and the sum of |gradient| (of |H v| for a
/// Hessian-vector product).
struct Checksums {
    double output_sum;
    double gradient_abs_sum;
};

/// One peer's side of a case: the timed step, and one untimed evaluation.
struct PeerStep {
    TimedStep step;
    std::function<Checksums()> checksums;
};

/// A small and a large case for every loss of the registry (for CTC, its two
/// sizes), in registry order, with the losses' default options. A loss the
/// bench does not know how to feed is named in `unsupported` and has no case.
std::vector<CaseSpec> make_cases(const Sizes& sizes, std::vector<std::string>& unsupported);

/// The direction v of a case's Hessian-vector product: uniform in [-1, 1),
/// of the differentiated input's shape, drawn reproducibly.
xt::xarray<float> draw_direction(const Shape& shape);

}  // namespace xtape::bench
