// torch's side of the training-step cases: the same MLP, weights, batches,
// loss and optimizer in libtorch's C++ frontend.
#include <memory>

#include <torch/torch.h>

#include "torch_peer.hpp"

namespace xtape::bench {

namespace {

torch::Tensor to_tensor(const xt::xarray<float>& array) {
    const std::vector<std::int64_t> shape(array.shape().begin(), array.shape().end());
    // from_blob does not copy; clone() gives the tensor its own memory.
    return torch::from_blob(const_cast<float*>(array.data()), shape, torch::kFloat32).clone();
}

/// Linear layers with relu between them, each from xtape's (in, out) weight,
/// transposed to torch's (out, in), and its bias.
torch::nn::Sequential make_model(const TrainingSpec& spec, const std::vector<xt::xarray<float>>& weights) {
    torch::nn::Sequential model;
    const torch::NoGradGuard no_grad;
    for (std::size_t layer = 0; layer + 1 < spec.sizes.size(); ++layer) {
        torch::nn::Linear linear(spec.sizes[layer], spec.sizes[layer + 1]);
        linear->weight.copy_(to_tensor(weights[2 * layer]).t());
        linear->bias.copy_(to_tensor(weights[2 * layer + 1]));
        model->push_back(linear);
        if (layer + 2 < spec.sizes.size()) model->push_back(torch::nn::ReLU());
    }
    return model;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainingSpec& spec,
                                                        const std::vector<torch::Tensor>& parameters) {
    if (spec.optimizer == TrainingOptimizer::Adam) {
        return std::make_unique<torch::optim::Adam>(parameters, torch::optim::AdamOptions(spec.learning_rate));
    }
    return std::make_unique<torch::optim::SGD>(parameters, torch::optim::SGDOptions(spec.learning_rate));
}

/// The loop as a torch user writes it, at its fastest: the gradients are reset
/// to undefined after the step (zero_grad(set_to_none=True), Python's default
/// since torch 2.0) rather than zeroed, so that backward writes them afresh.
class TorchLoop {
public:
    TorchLoop(const TrainingSpec& spec, const TrainingBatches& batches, const std::vector<xt::xarray<float>>& weights)
        : spec_(spec), model_(make_model(spec, weights)), optimizer_(make_optimizer(spec, model_->parameters())) {
        for (std::size_t b = 0; b < batches.inputs.size(); ++b) {
            inputs_.push_back(to_tensor(batches.inputs[b]));
            const torch::Tensor labels = to_tensor(batches.labels[b]);
            labels_.push_back(spec.loss == TrainingLoss::SoftmaxCrossEntropy ? labels.to(torch::kInt64) : labels);
        }
    }

    void enter_batch() { batch_ = next_++ % inputs_.size(); }
    void forward() {
        const torch::Tensor output = model_->forward(inputs_[batch_]);
        loss_ = spec_.loss == TrainingLoss::SoftmaxCrossEntropy
                    ? torch::nn::functional::cross_entropy(output, labels_[batch_])
                    : torch::nn::functional::binary_cross_entropy_with_logits(output, labels_[batch_]);
    }
    void backward() { loss_.backward(); }
    void update() {
        optimizer_->step();
        for (torch::Tensor& p : model_->parameters()) p.mutable_grad().reset();
        loss_.reset();
    }
    double loss() const { return loss_.item<double>(); }

private:
    TrainingSpec spec_;
    torch::nn::Sequential model_;
    std::unique_ptr<torch::optim::Optimizer> optimizer_;
    std::vector<torch::Tensor> inputs_, labels_;
    std::size_t next_ = 0, batch_ = 0;
    torch::Tensor loss_;
};

}  // namespace

std::optional<TrainingPeer> torch_training(const TrainingSpec& spec, const TrainingBatches& batches,
                                           const std::vector<xt::xarray<float>>& weights) {
    return training_peer(std::make_shared<TorchLoop>(spec, batches, weights), spec.steps_per_run);
}

}  // namespace xtape::bench
