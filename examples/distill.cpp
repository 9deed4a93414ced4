// Example: knowledge distillation on the digits; a small student learns a teacher's softened outputs with KLDivLoss.
#include "common/example.hpp"

using namespace xtape;

static int run(int argc, char** argv) {
    CLI::App app{"Trains a teacher MLP (64-128-10) with softmax cross-entropy, then a student (64-32-10) only on the "
                 "teacher's outputs softened by a temperature, with KLDivLoss"};
    example::Options options;
    example::add_common_options(app, options);
    int teacher_epochs = 25, epochs = 40;
    double temperature = 4;
    app.add_option("--teacher-epochs", teacher_epochs, "Passes of the teacher")->capture_default_str();
    app.add_option("--epochs", epochs, "Passes of the student")->capture_default_str();
    app.add_option("--temperature", temperature, "Softening of the teacher's outputs")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (options.quick) {
        teacher_epochs = 2;
        epochs = 3;
    }

    const example::Digits digits = example::load_digits(options);
    auto parts = example::split_three(digits.images, digits.labels, 0.2, 0.2, options.seed);
    if (options.quick) parts = example::shrink_training(std::move(parts), 400);
    const std::size_t n = parts.train_x.shape()[0];
    Rng rng(options.seed);
    Tape<float> tape;
    auto accuracy_on = [&](const MLP<float>& model, const xt::xarray<float>& x, const xt::xarray<float>& y) {
        return accuracy(argmax_rows(predict(model, x)), y);
    };
    example::Training training(options, "val_accuracy");

    // The teacher, on the hard labels.
    const MLP<float> teacher({64, 128, 10}, Activation::Relu, rng, "teacher");
    {
        Adam<float> adam(teacher.parameters(), {.learning_rate = 2e-3});
        const CosineSchedule schedule(2e-3, teacher_epochs, {.final_rate = 2e-5});
        const SoftmaxCrossEntropyLoss<float> cross_entropy;
        example::DataParallel<float> parallel(teacher.parameters());
        for (int epoch = training.begin("teacher", teacher.parameters(), adam, rng); epoch <= teacher_epochs;
             ++epoch) {
            adam.set_learning_rate(schedule(epoch - 1));
            for (const auto& batch : shuffled_batches(n, 32, rng)) {
                parallel.step(adam, tape, batch, [&](std::span<const std::size_t> rows) {
                    const Var<float> logits = teacher(tape.constant(take_rows(parts.train_x, rows)));
                    return mean(cross_entropy(logits, tape.constant(take_rows(parts.train_y, rows))));
                });
            }
            if (!training.epoch(epoch, teacher_epochs, parallel.epoch_loss(),
                                accuracy_on(teacher, parts.validation_x, parts.validation_y))) {
                return training.stop();
            }
        }
    }

    // Soft targets: softmax(teacher logits / temperature), which keep how alike
    // the teacher finds the classes (a 7 that looks a bit like a 1).
    const auto inverse_temperature = static_cast<float>(1 / temperature);
    xt::xarray<float> soft_targets;
    {
        NoGradGuard<float> no_grad(tape);
        soft_targets = softmax(mul(teacher(tape.constant(parts.train_x)), inverse_temperature), -1).value();
        tape.clear();
    }

    // The student never sees a label: it matches log_softmax(logits / T) to the soft targets.
    const MLP<float> student({64, 32, 10}, Activation::Relu, rng, "student");
    Adam<float> adam(student.parameters(), {.learning_rate = 3e-3});
    const CosineSchedule schedule(3e-3, epochs, {.final_rate = 3e-5});
    const KLDivLoss<float> kl_divergence;  // from_logits: the prediction is a log-distribution
    example::DataParallel<float> parallel(student.parameters());
    for (int epoch = training.begin("student", student.parameters(), adam, rng); epoch <= epochs; ++epoch) {
        adam.set_learning_rate(schedule(epoch - 1));
        for (const auto& batch : shuffled_batches(n, 32, rng)) {
            parallel.step(adam, tape, batch, [&](std::span<const std::size_t> rows) {
                const Var<float> logits = student(tape.constant(take_rows(parts.train_x, rows)));
                const Var<float> log_probabilities = log_softmax(mul(logits, inverse_temperature), -1);
                return mean(kl_divergence(log_probabilities, tape.constant(take_rows(soft_targets, rows))));
            });
        }
        if (!training.epoch(epoch, epochs, parallel.epoch_loss(),
                            accuracy_on(student, parts.validation_x, parts.validation_y))) {
            return training.stop();
        }
    }
    fmt::print("teacher: accuracy={:.4f}\n", accuracy_on(teacher, parts.test_x, parts.test_y));
    return training.finish("accuracy", accuracy_on(student, parts.test_x, parts.test_y));
}

int main(int argc, char** argv) {
    return example::main_reporting_errors(argc, argv, run);
}
