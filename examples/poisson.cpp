// Example: Poisson regression recovers the coefficients of a known log-linear model with PoissonNLLLoss.
#include <cmath>

#include <fmt/ranges.h>

#include "common/example.hpp"

using namespace xtape;

namespace {
// A Poisson(rate) draw by Knuth's multiplication method (fine for the small
// rates here; its cost grows with the rate).
float poisson_draw(double rate, Rng& rng) {
    const double limit = std::exp(-rate);
    double product = uniform01(rng);
    int count = 0;
    while (product > limit) {
        product *= uniform01(rng);
        ++count;
    }
    return static_cast<float>(count);
}
}  // namespace

static int run(int argc, char** argv) {
    CLI::App app{"Draws counts y ~ Poisson(exp(x . w + b)) for known w and b, fits a linear log-rate with "
                 "PoissonNLLLoss and Adam, and compares the fitted coefficients with the truth"};
    example::Options options;
    example::add_common_options(app, options);
    int epochs = 30;
    std::size_t samples = 30000;
    app.add_option("--epochs", epochs, "Passes over the data")->capture_default_str();
    app.add_option("--samples", samples, "Number of synthetic samples")->check(CLI::Range(100, 10000000))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (options.quick) {
        epochs = 3;
        samples = 2000;
    }

    // The true model: four features uniform in [-1, 1], rate exp(x . w + b).
    const std::vector<double> true_weights = {0.8, -0.6, 0.5, -0.4};
    const double true_bias = 1.0;
    const std::size_t d = true_weights.size();
    Rng rng(options.seed);
    xt::xarray<float> x(Shape{samples, d});
    xt::xarray<float> counts(Shape{samples});
    for (std::size_t i = 0; i < samples; ++i) {
        double log_rate = true_bias;
        for (std::size_t j = 0; j < d; ++j) {
            x(i, j) = static_cast<float>(2 * uniform01(rng) - 1);
            log_rate += true_weights[j] * x(i, j);
        }
        counts(i) = poisson_draw(std::exp(log_rate), rng);
    }

    // A fifth of the samples (the split's test part) for validation; the
    // held-out check at the end is the coefficients against the truth.
    const auto split = train_test_split(x, counts, 0.2, options.seed);
    const std::size_t n = split.train_x.shape()[0];

    const Dense<float> model(d, 1, Activation::Identity, rng, "log_rate");
    const double base_rate = 0.05;
    Adam<float> adam(model.parameters(), {.learning_rate = base_rate});
    const CosineSchedule schedule(base_rate, epochs, {.final_rate = base_rate / 100});
    const PoissonNLLLoss<float> poisson_nll;  // from_logits: the prediction is the log-rate
    auto validation_nll = [&] {
        Tape<float> tape;
        NoGradGuard<float> no_grad(tape);
        const Var<float> log_rate = model(tape.constant(split.test_x));
        return static_cast<double>(mean(poisson_nll(log_rate, tape.constant(split.test_y))).value().flat(0));
    };

    // The largest relative error over the weights and the bias.
    auto coefficient_error = [&] {
        double worst = std::abs(model.bias().value()(0) - true_bias) / std::abs(true_bias);
        for (std::size_t j = 0; j < d; ++j) {
            worst = std::max(worst, std::abs(model.weight().value()(j, 0) - true_weights[j]) / std::abs(true_weights[j]));
        }
        return worst;
    };

    example::Training training(options, "val_nll");
    example::DataParallel<float> parallel(model.parameters());
    Tape<float> tape;
    for (int epoch = training.begin("", model.parameters(), adam, rng); epoch <= epochs; ++epoch) {
        adam.set_learning_rate(schedule(epoch - 1));
        for (const auto& batch : shuffled_batches(n, 256, rng)) {
            parallel.step(adam, tape, batch, [&](std::span<const std::size_t> rows) {
                const Var<float> log_rate = model(tape.constant(take_rows(split.train_x, rows)));
                return mean(poisson_nll(log_rate, tape.constant(take_rows(split.train_y, rows))));
            });
        }
        if (!training.epoch(epoch, epochs, parallel.epoch_loss(), validation_nll())) return training.stop();
    }
    fmt::print("true:   w = [{:.3f}], b = {:.3f}\n", fmt::join(true_weights, ", "), true_bias);
    const xt::xarray<float>& fitted = model.weight().value();
    fmt::print("fitted: w = [{:.3f}], b = {:.3f}\n", fmt::join(fitted.begin(), fitted.end(), ", "),
               model.bias().value()(0));
    return training.finish("coef_max_rel_error", coefficient_error());
}

int main(int argc, char** argv) {
    return example::main_reporting_errors(argc, argv, run);
}
