// The libtorch peer: each loss written in torch as the spec defines it, forward and backward.
#include <functional>
#include <map>
#include <memory>
#include <set>

#include <torch/torch.h>

#include "torch_peer.hpp"

namespace xtape::bench {

namespace {

using Tensors = std::map<std::string, torch::Tensor>;

/// A loss in torch: which inputs are indices (int64 in torch), the loss per
/// sample with the loss's default options, and whether torch can
/// differentiate its backward.
struct Formulation {
    std::set<std::string> index_inputs;
    std::function<torch::Tensor(const Tensors&)> apply;
    bool double_backward = true;
};

/// Gluon's mean_b: the mean over every axis but the batch axis 0.
torch::Tensor per_sample_mean(const torch::Tensor& e) { return e.reshape({e.size(0), -1}).mean(1); }

const auto none = at::Reduction::None;

torch::Tensor ctc(const Tensors& in) {
    const auto& pred = in.at("pred");  // (N, T, C), layout NTC
    const auto& label = in.at("label");  // (N, L)
    const std::int64_t batch = pred.size(0), frames = pred.size(1), channels = pred.size(2);
    const std::vector<std::int64_t> pred_lengths(static_cast<std::size_t>(batch), frames);
    const std::vector<std::int64_t> label_lengths(static_cast<std::size_t>(batch), label.size(1));
    // torch wants log-probabilities (T, N, C); the blank is xtape's, channel C-1.
    return torch::ctc_loss(torch::log_softmax(pred.transpose(0, 1), 2), label, pred_lengths, label_lengths,
                           channels - 1, none, /*zero_infinity=*/true);
}

const std::map<std::string, Formulation>& formulations() {
    static const std::map<std::string, Formulation> table = {
        // (y - x)^2 * w/2 with w = 1.
        {"L2Loss", {{}, [](const Tensors& in) {
             return per_sample_mean(0.5 * torch::mse_loss(in.at("pred"), in.at("label"), none));
         }}},
        {"L1Loss", {{}, [](const Tensors& in) {
             return per_sample_mean(torch::l1_loss(in.at("pred"), in.at("label"), none));
         }}},
        {"SigmoidBinaryCrossEntropyLoss", {{}, [](const Tensors& in) {
             return per_sample_mean(
                 torch::binary_cross_entropy_with_logits(in.at("pred"), in.at("label"), {}, {}, none));
         }}},
        // -log_softmax picked at the label, kept as (N, 1), then mean_b.
        {"SoftmaxCrossEntropyLoss", {{"label"}, [](const Tensors& in) {
             return per_sample_mean(-torch::log_softmax(in.at("pred"), 1).gather(1, in.at("label").unsqueeze(1)));
         }}},
        // from_logits: label * (log(label) - pred).
        {"KLDivLoss", {{}, [](const Tensors& in) {
             return per_sample_mean(torch::kl_div(in.at("pred"), in.at("label"), none));
         }}},
        // rho = 1: torch's SmoothL1Loss(beta = rho).
        {"HuberLoss", {{}, [](const Tensors& in) {
             return per_sample_mean(torch::smooth_l1_loss(in.at("pred"), in.at("label"), none, 1.0));
         }}},
        {"HingeLoss", {{}, [](const Tensors& in) {
             return per_sample_mean(torch::relu(1 - in.at("pred") * in.at("label")));
         }}},
        {"SquaredHingeLoss", {{}, [](const Tensors& in) {
             return per_sample_mean(torch::relu(1 - in.at("pred") * in.at("label")).square());
         }}},
        // Signed labels mapped to 0/1, then the logistic cross-entropy.
        {"LogisticLoss", {{}, [](const Tensors& in) {
             return per_sample_mean(torch::binary_cross_entropy_with_logits(
                 in.at("pred"), (in.at("label") + 1) / 2, {}, {}, none));
         }}},
        // Squared distances, no sqrt (torch's triplet_margin_loss takes norms).
        {"TripletLoss", {{}, [](const Tensors& in) {
             const auto& x = in.at("pred");
             const auto gap = (in.at("positive") - x).square() - (in.at("negative") - x).square();
             return torch::relu(gap.reshape({x.size(0), -1}).sum(1) + 1);
         }}},
        // Log-rate, no Stirling term; the mean over all elements, shape (1,).
        {"PoissonNLLLoss", {{}, [](const Tensors& in) {
             return torch::poisson_nll_loss(in.at("pred"), in.at("target"), true, false, 1e-8, at::Reduction::Mean)
                 .reshape({1});
         }}},
        {"CosineEmbeddingLoss", {{}, [](const Tensors& in) {
             return torch::cosine_embedding_loss(in.at("input1"), in.at("input2"), in.at("label"), 0.0, none);
         }}},
        // torch has no SDML: composed from its ops as the spec (and Gluon 2.0) define it.
        {"SDMLLoss", {{}, [](const Tensors& in) {
             const auto& x1 = in.at("x1");
             const auto& x2 = in.at("x2");
             const std::int64_t n = x1.size(0);
             const double s = 0.3;
             const auto distances =
                 x1.square().sum(1, true) - 2 * x1.matmul(x2.t()) + x2.square().sum(1).unsqueeze(0);
             const auto log_p = torch::log_softmax(-distances, 1);
             const auto eye = torch::eye(n, x1.options());
             const auto target = eye * (1 - s) + (1 - eye) * (s / static_cast<double>(n - 1));
             return (target * ((target + 1e-12).log() - log_p)).mean(1);
         }}},
        // torchvision's sigmoid_focal_loss, alpha 0.25, gamma 2.
        {"SigmoidFocalLoss", {{}, [](const Tensors& in) {
             const auto& x = in.at("pred");
             const auto& y = in.at("label");
             const auto p = torch::sigmoid(x);
             const auto ce = torch::binary_cross_entropy_with_logits(x, y, {}, {}, none);
             const auto p_t = p * y + (1 - p) * (1 - y);
             const auto e = ce * (1 - p_t).pow(2) * (0.25 * y + 0.75 * (1 - y));
             return per_sample_mean(e);
         }}},
        // torch's gaussian_nll_loss formula (its C++ frontend lacks the function).
        {"GaussianNLLLoss", {{}, [](const Tensors& in) {
             const auto v = torch::clamp_min(in.at("var"), 1e-6);
             return per_sample_mean(0.5 * (v.log() + (in.at("pred") - in.at("target")).square() / v));
         }}},
        {"MarginRankingLoss", {{}, [](const Tensors& in) {
             return per_sample_mean(
                 torch::margin_ranking_loss(in.at("input1"), in.at("input2"), in.at("label"), 0.0, none));
         }}},
        // torch's ctc_loss backward has no derivative (pytorch issue 70108).
        {"CTCLoss", {{"label"}, ctc, /*double_backward=*/false}},
    };
    return table;
}

torch::Tensor to_tensor(const xt::xarray<float>& array, bool index) {
    const std::vector<std::int64_t> shape(array.shape().begin(), array.shape().end());
    // from_blob does not copy; clone() gives the tensor its own memory.
    auto tensor = torch::from_blob(const_cast<float*>(array.data()), shape, torch::kFloat32).clone();
    return index ? tensor.to(torch::kInt64) : tensor;
}

/// The formulation of `spec`'s loss; none for a loss torch has none for.
const Formulation* formulation_of(const CaseSpec& spec) {
    const auto found = formulations().find(spec.loss->name);
    return found == formulations().end() ? nullptr : &found->second;
}

/// Copies of `inputs` as tensors, the indices as int64.
Tensors to_tensors(const InputArrays& inputs, const Formulation& formulation) {
    Tensors tensors;
    for (const auto& [name, array] : inputs) tensors[name] = to_tensor(array, formulation.index_inputs.count(name) > 0);
    return tensors;
}

/// The sum of |t|, in double.
double abs_sum(const torch::Tensor& t) { return t.abs().to(torch::kFloat64).sum().item<double>(); }

}  // namespace

std::optional<std::string> torch_peer_version() { return TORCH_VERSION; }

void set_torch_threads(int threads) { at::set_num_threads(threads); }

std::optional<PeerStep> torch_step(const CaseSpec& spec, const InputArrays& inputs) {
    const Formulation* formulation = formulation_of(spec);
    if (formulation == nullptr) return std::nullopt;
    const auto tensors = std::make_shared<Tensors>(to_tensors(inputs, *formulation));
    torch::Tensor differentiated = tensors->at(spec.grad_input);
    differentiated.requires_grad_(true);
    TimedStep step;
    // The gradient starts undefined each step, as after optimizer.zero_grad(set_to_none=true).
    step.prepare = [differentiated]() mutable { differentiated.mutable_grad().reset(); };
    step.run = [tensors, differentiated, formulation] {
        formulation->apply(*tensors).sum().backward();
        keep(differentiated.grad().data_ptr());
    };
    const auto checksums = [tensors, differentiated, formulation]() mutable {
        differentiated.mutable_grad().reset();
        const torch::Tensor total = formulation->apply(*tensors).sum();
        total.backward();
        return Checksums{total.item<double>(), abs_sum(differentiated.grad())};
    };
    return PeerStep{std::move(step), checksums};
}

std::optional<TorchHvp> torch_hvp_step(const CaseSpec& spec, const InputArrays& inputs,
                                       const xt::xarray<float>& direction) {
    const Formulation* formulation = formulation_of(spec);
    if (formulation == nullptr) return std::nullopt;
    const auto tensors = std::make_shared<Tensors>(to_tensors(inputs, *formulation));
    const torch::Tensor v = to_tensor(direction, false);
    std::function<torch::Tensor()> hvp;
    std::string method;
    if (formulation->double_backward) {
        const torch::Tensor x = tensors->at(spec.grad_input).requires_grad_(true);
        hvp = [tensors, formulation, x, v] {
            const torch::Tensor total = formulation->apply(*tensors).sum();
            const torch::Tensor g = torch::autograd::grad({total}, {x}, {}, c10::nullopt, /*create_graph=*/true)[0];
            // A gradient that does not depend on x (KLDiv's in its log-probabilities) has H = 0, as
            // torch.autograd.functional.hvp returns; autograd::grad would throw.
            if (!g.requires_grad()) return torch::zeros_like(x);
            // <g, v> in one pass, as xtape's dot.
            return torch::autograd::grad({torch::dot(g.reshape({-1}), v.reshape({-1}))}, {x})[0];
        };
        method = "double backward";
    } else {
        // (g(x + eps v) - g(x - eps v)) / (2 eps). In float32 its error is
        // about u |g| / eps from rounding (u = 6e-8) plus eps^2 / 6 times the
        // third derivative from truncation: eps = 1e-2 keeps both small for |v| <= 1.
        const double eps = 1e-2;
        const torch::Tensor x = tensors->at(spec.grad_input);
        hvp = [tensors, formulation, x, v, eps, name = spec.grad_input] {
            const auto gradient_at = [&](const torch::Tensor& point) {
                Tensors moved = *tensors;
                moved[name] = point.requires_grad_(true);
                return torch::autograd::grad({formulation->apply(moved).sum()}, {moved[name]})[0];
            };
            return (gradient_at(x + eps * v) - gradient_at(x - eps * v)) / (2 * eps);
        };
        method = "central difference";
    }
    TimedStep step;
    step.run = [hvp] { keep(hvp().data_ptr()); };
    const auto checksums = [tensors, formulation, hvp] {
        const double output_sum = formulation->apply(*tensors).sum().item<double>();
        return Checksums{output_sum, abs_sum(hvp())};
    };
    return TorchHvp{PeerStep{std::move(step), checksums}, std::move(method)};
}

}  // namespace xtape::bench
