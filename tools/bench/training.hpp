// The training-step cases: a whole step of a small model (forward, loss,
// backward, optimizer), the same model, weights and batches in xtape and torch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "harness.hpp"

namespace xtape::bench {

enum class TrainingLoss { SoftmaxCrossEntropy, SigmoidBinaryCrossEntropy };
enum class TrainingOptimizer { Adam, SGD };

/// An MLP trained on a fixed cycle of batches. Adam and SGD run with their
/// defaults apart from the learning rate (Adam: betas 0.9, 0.999, epsilon 1e-8;
/// SGD: no momentum), which are xtape's and torch's alike.
struct TrainingSpec {
    std::string name;                // "train/digits"
    std::string shape;               // "MLP 64-128-10, batch 32"
    std::vector<std::size_t> sizes;  // {in, hidden..., out}: relu between layers, the last linear
    std::size_t batch;
    TrainingLoss loss;
    TrainingOptimizer optimizer;
    double learning_rate;
    std::uint32_t seed;              // of the initial weights and of the batches
    /// Steps timed back to back in one repetition of the whole step, as a
    /// training loop runs them: a run of about 100 us or more of xtape's, so
    /// that a step of a few us is not timed as its cold start after the other
    /// framework's turn and the clock's reads (docs/performance.md, 2026-12-07).
    std::size_t steps_per_run;
};

/// The batches a training case cycles through: inputs (batch, in) and labels,
/// class indices (batch,) for softmax cross-entropy, 0 or 1 of shape (batch, 1)
/// for sigmoid cross-entropy.
struct TrainingBatches {
    std::vector<xt::xarray<float>> inputs;
    std::vector<xt::xarray<float>> labels;
};

/// The three steps: digits (MLP 64-128-10, batch 32, softmax
/// cross-entropy, Adam), tiny (logistic regression 30 -> 1, batch 32, sigmoid
/// cross-entropy, SGD) and wide (MLP 784-512-512-10, batch 128, softmax
/// cross-entropy, Adam).
std::vector<TrainingSpec> make_training_specs();

/// Synthetic batches of the spec's shapes from its seed: inputs uniform in
/// [0, 1) (pixel intensities) for the MLPs, in [-2, 2) (standardised features)
/// for the logistic regression; labels uniform over the classes.
TrainingBatches draw_batches(const TrainingSpec& spec);

/// One framework's training loop on a case. Every step, timed whole or in its
/// phases, takes the next batch of the cycle, so two peers that run the same
/// number of steps see the same batches.
struct TrainingPeer {
    /// A run of whole steps back to back (TrainingSpec::steps_per_run), each
    /// entering its batch.
    TimedStep steps;
    /// The same step in three timed parts, run in this order: forward + loss
    /// (its preparation enters the next batch), backward, and the optimizer
    /// (the update, and what makes the next step start afresh: the gradients
    /// reset, the graph released).
    TimedStep forward, backward, optimizer;
    /// One untimed step; returns its loss before the update.
    std::function<double()> loss_step;
};

/// The peer of a loop with enter_batch() (the next batch of the cycle),
/// forward() (model and mean loss), backward(), update() (the optimizer's step
/// and the reset for the next step) and loss() (after forward), whose whole
/// steps are timed in runs of `steps_per_run`.
template <class Loop>
TrainingPeer training_peer(std::shared_ptr<Loop> loop, std::size_t steps_per_run) {
    TrainingPeer peer;
    peer.steps = {{}, [loop, steps_per_run] {
                      for (std::size_t step = 0; step < steps_per_run; ++step) {
                          loop->enter_batch();
                          loop->forward();
                          loop->backward();
                          loop->update();
                      }
                  }};
    peer.forward = {[loop] { loop->enter_batch(); }, [loop] { loop->forward(); }};
    peer.backward = {{}, [loop] { loop->backward(); }};
    peer.optimizer = {{}, [loop] { loop->update(); }};
    peer.loss_step = [loop] {
        loop->enter_batch();
        loop->forward();
        const double loss = loop->loss();
        loop->backward();
        loop->update();
        return loss;
    };
    return peer;
}

/// xtape's side of a case, and the weights it starts from: each layer's
/// (in, out) weight and (out,) bias, input side first, for torch to copy.
struct XtapeTraining {
    TrainingPeer peer;
    std::vector<xt::xarray<float>> initial_weights;
};

/// xtape's loop, with the library's MLP, loss and optimizer as a user writes
/// them. `batches` must outlive it.
XtapeTraining xtape_training(const TrainingSpec& spec, const TrainingBatches& batches);

}  // namespace xtape::bench
