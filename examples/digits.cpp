// Example: a multilayer perceptron classifying 8x8 handwritten digits with SoftmaxCrossEntropyLoss.
#include "common/example.hpp"

using namespace xtape;

static int run(int argc, char** argv) {
    CLI::App app{"Trains an MLP (64-128-10, relu) on the digits with softmax cross-entropy and Adam"};
    example::Options options;
    example::add_common_options(app, options);
    int epochs = 40;
    app.add_option("--epochs", epochs, "Passes over the training set")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (options.quick) epochs = 3;

    const example::Digits digits = example::load_digits(options);
    auto split = train_test_split(digits.images, digits.labels, 0.2, options.seed);
    if (options.quick) split = example::shrink_training(std::move(split), 400);
    const std::size_t n = split.train_x.shape()[0];

    Rng rng(options.seed);
    const MLP<float> mlp({64, 128, 10}, Activation::Relu, rng);
    Adam<float> adam(mlp.parameters(), {.learning_rate = 2e-3});
    const SoftmaxCrossEntropyLoss<float> loss_fn;  // sparse labels, logits in

    example::Progress progress("test_accuracy");
    example::DataParallel<float> parallel(mlp.parameters());
    Tape<float> tape;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        adam.set_learning_rate(example::cosine_rate(2e-3, epoch, epochs));
        for (const auto& batch : shuffled_batches(n, 32, rng)) {
            // The mean loss over this process's rows of the batch (all of them in one process); the
            // step runs backward, the optimizer and tape.clear(): the parameters keep their values.
            parallel.step(adam, tape, batch, [&](std::span<const std::size_t> rows) {
                const Var<float> logits = mlp(tape.constant(take_rows(split.train_x, rows)));
                return mean(loss_fn(logits, tape.constant(take_rows(split.train_y, rows))));
            });
        }
        const double accuracy =
            example::accuracy(example::argmax_rows(example::predict(mlp, split.test_x)), split.test_y);
        progress.epoch(epoch, epochs, parallel.epoch_loss(), accuracy);
    }
    const double accuracy = example::accuracy(example::argmax_rows(example::predict(mlp, split.test_x)), split.test_y);
    return progress.finish("accuracy", accuracy);
}

int main(int argc, char** argv) {
    return example::main_reporting_errors(argc, argv, run);
}
