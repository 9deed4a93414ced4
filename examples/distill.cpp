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
    auto split = train_test_split(digits.images, digits.labels, 0.2, options.seed);
    if (options.quick) split = example::shrink_training(std::move(split), 400);
    const std::size_t n = split.train_x.shape()[0];
    Rng rng(options.seed);
    Tape<float> tape;
    auto test_accuracy = [&](const MLP<float>& model) {
        return example::accuracy(example::argmax_rows(example::predict(model, split.test_x)), split.test_y);
    };

    // The teacher, on the hard labels.
    const MLP<float> teacher({64, 128, 10}, Activation::Relu, rng, "teacher");
    {
        Adam<float> adam(teacher.parameters(), {.learning_rate = 2e-3});
        const SoftmaxCrossEntropyLoss<float> cross_entropy;
        example::Progress progress("test_accuracy", "teacher epoch");
        example::DataParallel<float> parallel(teacher.parameters());
        for (int epoch = 1; epoch <= teacher_epochs; ++epoch) {
            adam.set_learning_rate(example::cosine_rate(2e-3, epoch, teacher_epochs));
            for (const auto& batch : shuffled_batches(n, 32, rng)) {
                parallel.step(adam, tape, batch, [&](std::span<const std::size_t> rows) {
                    const Var<float> logits = teacher(tape.constant(take_rows(split.train_x, rows)));
                    return mean(cross_entropy(logits, tape.constant(take_rows(split.train_y, rows))));
                });
            }
            progress.epoch(epoch, teacher_epochs, parallel.epoch_loss(), test_accuracy(teacher));
        }
    }

    // Soft targets: softmax(teacher logits / temperature), which keep how alike
    // the teacher finds the classes (a 7 that looks a bit like a 1).
    const auto inverse_temperature = static_cast<float>(1 / temperature);
    xt::xarray<float> soft_targets;
    {
        NoGradGuard<float> no_grad(tape);
        soft_targets = softmax(mul(teacher(tape.constant(split.train_x)), inverse_temperature), -1).value();
        tape.clear();
    }

    // The student never sees a label: it matches log_softmax(logits / T) to the soft targets.
    const MLP<float> student({64, 32, 10}, Activation::Relu, rng, "student");
    Adam<float> adam(student.parameters(), {.learning_rate = 3e-3});
    const KLDivLoss<float> kl_divergence;  // from_logits: the prediction is a log-distribution
    example::Progress progress("test_accuracy");
    example::DataParallel<float> parallel(student.parameters());
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        adam.set_learning_rate(example::cosine_rate(3e-3, epoch, epochs));
        for (const auto& batch : shuffled_batches(n, 32, rng)) {
            parallel.step(adam, tape, batch, [&](std::span<const std::size_t> rows) {
                const Var<float> logits = student(tape.constant(take_rows(split.train_x, rows)));
                const Var<float> log_probabilities = log_softmax(mul(logits, inverse_temperature), -1);
                return mean(kl_divergence(log_probabilities, tape.constant(take_rows(soft_targets, rows))));
            });
        }
        progress.epoch(epoch, epochs, parallel.epoch_loss(), test_accuracy(student));
    }
    fmt::print("teacher: accuracy={:.4f}\n", test_accuracy(teacher));
    return progress.finish("accuracy", test_accuracy(student));
}

int main(int argc, char** argv) {
    return example::main_reporting_errors(argc, argv, run);
}
