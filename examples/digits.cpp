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
    auto parts = example::split_three(digits.images, digits.labels, 0.2, 0.2, options.seed);
    if (options.quick) parts = example::shrink_training(std::move(parts), 400);
    const std::size_t n = parts.train_x.shape()[0];

    Rng rng(options.seed);
    const MLP<float> mlp({64, 128, 10}, Activation::Relu, rng);
    Adam<float> adam(mlp.parameters(), {.learning_rate = 2e-3});
    const CosineSchedule schedule(2e-3, epochs, {.final_rate = 2e-5});
    const SoftmaxCrossEntropyLoss<float> loss_fn;  // sparse labels, logits in
    auto accuracy_on = [&](const xt::xarray<float>& x, const xt::xarray<float>& y) {
        return accuracy(argmax_rows(predict(mlp, x)), y);
    };

    example::Training training(options, "val_accuracy");
    example::DataParallel<float> parallel(mlp.parameters());
    Tape<float> tape;
    for (int epoch = training.begin("", mlp.parameters(), adam, rng); epoch <= epochs; ++epoch) {
        adam.set_learning_rate(schedule(epoch - 1));
        for (const auto& batch : shuffled_batches(n, 32, rng)) {
            // The mean loss over this process's rows of the batch (all of them in one process); the
            // step runs backward, the optimizer and tape.clear(): the parameters keep their values.
            parallel.step(adam, tape, batch, [&](std::span<const std::size_t> rows) {
                const Var<float> logits = mlp(tape.constant(take_rows(parts.train_x, rows)));
                return mean(loss_fn(logits, tape.constant(take_rows(parts.train_y, rows))));
            });
        }
        const double validation_accuracy = accuracy_on(parts.validation_x, parts.validation_y);
        if (!training.epoch(epoch, epochs, parallel.epoch_loss(), validation_accuracy)) {
            return training.stop();
        }
    }
    return training.finish("accuracy", accuracy_on(parts.test_x, parts.test_y));
}

int main(int argc, char** argv) {
    return example::main_reporting_errors(argc, argv, run);
}
