// The training-step cases, and xtape's side of them.
#include "training.hpp"

#include <algorithm>
#include <memory>
#include <random>

#include "xtape/losses.hpp"
#include "xtape/ops.hpp"
#include "xtape/train.hpp"

namespace xtape::bench {

std::vector<TrainingSpec> make_training_specs() {
    using enum TrainingLoss;
    using enum TrainingOptimizer;
    return {
        {"train/digits", "MLP 64-128-10, batch 32, SoftmaxCE, Adam", {64, 128, 10}, 32, SoftmaxCrossEntropy, Adam,
         1e-3, 1, 4},
        {"train/tiny", "logistic 30-1, batch 32, SigmoidBCE, SGD", {30, 1}, 32, SigmoidBinaryCrossEntropy, SGD, 0.1, 2,
         32},
        {"train/wide", "MLP 784-512-512-10, batch 128, SoftmaxCE, Adam", {784, 512, 512, 10}, 128,
         SoftmaxCrossEntropy, Adam, 1e-3, 3, 1},
    };
}

TrainingBatches draw_batches(const TrainingSpec& spec) {
    // Enough batches that a step does not find the last one's inputs in the L1
    // cache, few enough to draw in a moment.
    const std::size_t count = 8;
    std::mt19937 rng(spec.seed);
    const bool mlp = spec.sizes.size() > 2;
    std::uniform_real_distribution<float> feature(mlp ? 0.0f : -2.0f, mlp ? 1.0f : 2.0f);
    const std::size_t classes = spec.loss == TrainingLoss::SoftmaxCrossEntropy ? spec.sizes.back() : 2;
    std::uniform_int_distribution<std::size_t> label(0, classes - 1);
    const Shape label_shape =
        spec.loss == TrainingLoss::SoftmaxCrossEntropy ? Shape{spec.batch} : Shape{spec.batch, 1};
    TrainingBatches batches;
    for (std::size_t b = 0; b < count; ++b) {
        xt::xarray<float> x = xt::empty<float>(Shape{spec.batch, spec.sizes.front()});
        for (float& v : x) v = feature(rng);
        xt::xarray<float> y = xt::empty<float>(label_shape);
        for (float& v : y) v = static_cast<float>(label(rng));
        batches.inputs.push_back(std::move(x));
        batches.labels.push_back(std::move(y));
    }
    return batches;
}

namespace {

using LossFunction = std::function<Var<float>(const Var<float>&, const Var<float>&)>;

LossFunction make_loss(TrainingLoss loss) {
    if (loss == TrainingLoss::SoftmaxCrossEntropy) {
        return [f = SoftmaxCrossEntropyLoss<float>()](const Var<float>& pred, const Var<float>& label) {
            return f(pred, label);
        };
    }
    return [f = SigmoidBCELoss<float>()](const Var<float>& pred, const Var<float>& label) { return f(pred, label); };
}

std::unique_ptr<Optimizer<float>> make_optimizer(const TrainingSpec& spec, std::vector<Parameter<float>> parameters) {
    if (spec.optimizer == TrainingOptimizer::Adam) {
        return std::make_unique<Adam<float>>(std::move(parameters), AdamOptions{.learning_rate = spec.learning_rate});
    }
    return std::make_unique<SGD<float>>(std::move(parameters), SGDOptions{.learning_rate = spec.learning_rate});
}

/// A training loop as a user writes it: the batch enters the tape as
/// constants, the model and the mean loss are recorded, backward, the
/// optimizer's step, and the tape cleared (which gives the parameters back).
class XtapeLoop {
public:
    XtapeLoop(const TrainingSpec& spec, const TrainingBatches& batches)
        : batches_(batches),
          rng_(spec.seed),
          model_(spec.sizes, Activation::Relu, rng_),
          loss_function_(make_loss(spec.loss)),
          optimizer_(make_optimizer(spec, model_.parameters())) {}

    /// The next batch, copied into the tape's spare storage as a training loop
    /// reuses its batch buffers (torch's side keeps its tensors across steps).
    void enter_batch() {
        const std::size_t b = next_++ % batches_.inputs.size();
        x_ = tape_.constant(copy_to_tape(batches_.inputs[b]));
        y_ = tape_.constant(copy_to_tape(batches_.labels[b]));
    }
    void forward() { loss_ = mean(loss_function_(model_(x_), y_)); }
    void backward() { tape_.backward(loss_); }
    void update() {
        optimizer_->step();
        tape_.clear();
    }
    double loss() const { return loss_.value().flat(0); }

    std::vector<xt::xarray<float>> weights() const {
        std::vector<xt::xarray<float>> out;
        for (const Parameter<float>& p : model_.parameters()) out.push_back(p.value());
        return out;
    }

private:
    xt::xarray<float> copy_to_tape(const xt::xarray<float>& array) {
        xt::xarray<float> copy = tape_.buffer(array.shape());
        std::copy_n(array.data(), array.size(), copy.data());
        return copy;
    }

    const TrainingBatches& batches_;
    std::size_t next_ = 0;
    Rng rng_;
    MLP<float> model_;
    LossFunction loss_function_;
    std::unique_ptr<Optimizer<float>> optimizer_;
    Tape<float> tape_;
    Var<float> x_, y_, loss_;
};

}  // namespace

XtapeTraining xtape_training(const TrainingSpec& spec, const TrainingBatches& batches) {
    auto loop = std::make_shared<XtapeLoop>(spec, batches);
    std::vector<xt::xarray<float>> weights = loop->weights();
    return {training_peer(std::move(loop), spec.steps_per_run), std::move(weights)};
}

}  // namespace xtape::bench
