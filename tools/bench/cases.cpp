// The benchmark cases: every loss of the registry at each size, with inputs drawn reproducibly.
#include "cases.hpp"

#include <random>

#include <fmt/format.h>

namespace xtape::bench {

Sizes Sizes::full() { return {{32, 10}, {4096, 1024}, {50, 16, 20, 10}, {200, 64, 40, 40}}; }

Sizes Sizes::quick() { return {{32, 10}, {256, 128}, {50, 16, 20, 10}, {60, 8, 40, 20}}; }

namespace {

/// Draws arrays from one generator, so that a case's inputs depend only on its seed.
class Draw {
public:
    explicit Draw(std::uint32_t seed) : rng_(seed) {}

    xt::xarray<float> uniform(const Shape& shape, float lo, float hi) {
        std::uniform_real_distribution<float> dist(lo, hi);
        xt::xarray<float> out = xt::empty<float>(shape);
        for (auto& x : out) x = dist(rng_);
        return out;
    }
    /// -1 or 1.
    xt::xarray<float> signs(const Shape& shape) {
        std::bernoulli_distribution coin(0.5);
        xt::xarray<float> out = xt::empty<float>(shape);
        for (auto& x : out) x = coin(rng_) ? 1.0f : -1.0f;
        return out;
    }
    /// Whole numbers in [0, n-1].
    xt::xarray<float> classes(const Shape& shape, std::size_t n) {
        std::uniform_int_distribution<std::size_t> dist(0, n - 1);
        xt::xarray<float> out = xt::empty<float>(shape);
        for (auto& x : out) x = static_cast<float>(dist(rng_));
        return out;
    }

private:
    std::mt19937 rng_;
};

using Drawer = std::function<InputArrays(const Shape&, Draw&)>;

/// Inputs for a (batch, classes) pred and each loss's default options, inside
/// each loss's domain and on both sides of its kinks. CTC is drawn apart.
const std::map<std::string, Drawer>& drawers() {
    static const std::map<std::string, Drawer> table = {
        {"L2Loss", [](const Shape& s, Draw& d) { return InputArrays{{"pred", d.uniform(s, -2, 2)}, {"label", d.uniform(s, -2, 2)}}; }},
        {"L1Loss", [](const Shape& s, Draw& d) { return InputArrays{{"pred", d.uniform(s, -2, 2)}, {"label", d.uniform(s, -2, 2)}}; }},
        {"SigmoidBinaryCrossEntropyLoss",
         [](const Shape& s, Draw& d) { return InputArrays{{"pred", d.uniform(s, -3, 3)}, {"label", d.uniform(s, 0, 1)}}; }},
        {"SoftmaxCrossEntropyLoss",
         [](const Shape& s, Draw& d) {
             return InputArrays{{"pred", d.uniform(s, -2, 2)}, {"label", d.classes({s[0]}, s[1])}};
         }},
        // pred holds log-probabilities (from_logits=true), the label a positive density.
        {"KLDivLoss",
         [](const Shape& s, Draw& d) { return InputArrays{{"pred", d.uniform(s, -4, 0)}, {"label", d.uniform(s, 0.05f, 1)}}; }},
        // |label - pred| spans both pieces around rho = 1.
        {"HuberLoss", [](const Shape& s, Draw& d) { return InputArrays{{"pred", d.uniform(s, -2, 2)}, {"label", d.uniform(s, -2, 2)}}; }},
        {"HingeLoss", [](const Shape& s, Draw& d) { return InputArrays{{"pred", d.uniform(s, -3, 3)}, {"label", d.signs(s)}}; }},
        {"SquaredHingeLoss",
         [](const Shape& s, Draw& d) { return InputArrays{{"pred", d.uniform(s, -3, 3)}, {"label", d.signs(s)}}; }},
        {"LogisticLoss", [](const Shape& s, Draw& d) { return InputArrays{{"pred", d.uniform(s, -3, 3)}, {"label", d.signs(s)}}; }},
        {"TripletLoss",
         [](const Shape& s, Draw& d) {
             return InputArrays{{"pred", d.uniform(s, -1, 1)}, {"positive", d.uniform(s, -1, 1)}, {"negative", d.uniform(s, -1, 1)}};
         }},
        // pred is a log-rate (from_logits=true).
        {"PoissonNLLLoss",
         [](const Shape& s, Draw& d) { return InputArrays{{"pred", d.uniform(s, -1, 1)}, {"target", d.uniform(s, 0, 4)}}; }},
        {"CosineEmbeddingLoss",
         [](const Shape& s, Draw& d) {
             return InputArrays{{"input1", d.uniform(s, -1, 1)}, {"input2", d.uniform(s, -1, 1)}, {"label", d.signs({s[0]})}};
         }},
        // (N, D) embeddings, x2_i near x1_i, close enough together that the
        // softmax over distances is not saturated: at +-1 over D = 128 features
        // each row's softmax is one-hot to 1e-30, H v is zero up to rounding
        // and the two peers' Hessian-vector products could not be compared.
        {"SDMLLoss",
         [](const Shape& s, Draw& d) {
             xt::xarray<float> x1 = d.uniform(s, -0.1f, 0.1f);
             xt::xarray<float> x2 = x1 + d.uniform(s, -0.02f, 0.02f);
             return InputArrays{{"x1", std::move(x1)}, {"x2", std::move(x2)}};
         }},
        {"SigmoidFocalLoss",
         [](const Shape& s, Draw& d) { return InputArrays{{"pred", d.uniform(s, -3, 3)}, {"label", d.classes(s, 2)}}; }},
        // var on both sides of eps = 1e-6 is not drawn: it is a positive variance.
        {"GaussianNLLLoss",
         [](const Shape& s, Draw& d) {
             return InputArrays{{"pred", d.uniform(s, -2, 2)}, {"target", d.uniform(s, -2, 2)}, {"var", d.uniform(s, 0.1f, 2)}};
         }},
        {"MarginRankingLoss",
         [](const Shape& s, Draw& d) {
             return InputArrays{{"input1", d.uniform(s, -2, 2)}, {"input2", d.uniform(s, -2, 2)}, {"label", d.signs(s)}};
         }},
    };
    return table;
}

/// pred (N, T, C) for the default layout NTC; label (N, L) in [0, C-2] without
/// padding, so every sample uses all its frames and labels. With T >= 2L no
/// label is infeasible.
InputArrays draw_ctc(const CtcSize& size, Draw& d) {
    return InputArrays{{"pred", d.uniform({size.batch, size.frames, size.channels}, -2, 2)},
                       {"label", d.classes({size.batch, size.label_length}, size.channels - 1)}};
}

std::string shape_text(const Shape& shape) { return fmt::format("{}", fmt::join(shape, "x")); }

std::string ctc_text(const CtcSize& s) {
    return fmt::format("T={} N={} C={} L={}", s.frames, s.batch, s.channels, s.label_length);
}

}  // namespace

std::vector<CaseSpec> make_cases(const Sizes& sizes, std::vector<std::string>& unsupported) {
    std::vector<CaseSpec> cases;
    std::uint32_t seed = 7;
    for (const LossInfo& loss : loss_registry()) {
        if (loss.name == "CTCLoss") {
            for (const auto& [label, size, bound] : {std::tuple{"small", sizes.ctc_small, false},
                                                     std::tuple{"large", sizes.ctc_large, false}}) {
                cases.push_back({fmt::format("{}/{}", loss.name, label), &loss, ctc_text(size), bound, "pred",
                                 /*has_hvp=*/true, [size = size, seed] {
                                     Draw d(seed);
                                     return draw_ctc(size, d);
                                 }});
                ++seed;
            }
            continue;
        }
        const auto drawer = drawers().find(loss.name);
        if (drawer == drawers().end()) {
            unsupported.push_back(loss.name);
            continue;
        }
        const std::string grad_input = loss.name == "SDMLLoss"                                          ? "x1"
                                       : loss.name == "CosineEmbeddingLoss" || loss.name == "MarginRankingLoss" ? "input1"
                                                                                                                : "pred";
        // SDML compares every sample with every other (an N x N matmul): its
        // large case has a quarter of the samples and an eighth of the features.
        const Shape large = loss.name == "SDMLLoss" ? Shape{sizes.large[0] / 4, sizes.large[1] / 8} : sizes.large;
        for (const auto& [label, shape, is_large] :
             {std::tuple{"small", sizes.small, false}, std::tuple{"large", large, true}}) {
            cases.push_back({fmt::format("{}/{}", loss.name, label), &loss, shape_text(shape), /*has_bound=*/is_large,
                             grad_input, /*has_hvp=*/is_large, [draw = drawer->second, shape = shape, seed] {
                                 Draw d(seed);
                                 return draw(shape, d);
                             }});
            ++seed;
        }
    }
    return cases;
}

xt::xarray<float> draw_direction(const Shape& shape) {
    Draw d(1);
    return d.uniform(shape, -1, 1);
}

}  // namespace xtape::bench
