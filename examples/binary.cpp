// Example: a linear classifier of breast tumours trained with one of four binary losses.
#include <functional>

#include "common/example.hpp"

using namespace xtape;

namespace {
// A binary loss on scores and labels; `signed_labels` says whether it wants
// labels in {-1, 1} (margin losses) rather than {0, 1}.
struct BinaryLoss {
    std::function<Var<float>(const Var<float>&, const Var<float>&)> apply;
    bool signed_labels;
};

BinaryLoss make_loss(const std::string& name) {
    if (name == "bce") return {SigmoidBCELoss<float>(), false};
    if (name == "logistic") return {LogisticLoss<float>(), true};  // label_format "signed"
    if (name == "hinge") return {HingeLoss<float>(), true};
    return {SquaredHingeLoss<float>(), true};
}

double accuracy_of(const Dense<float>& model, const xt::xarray<float>& x, const xt::xarray<float>& labels01) {
    const xt::xarray<float> scores = predict(model, x);
    // Every loss here scores class 1 positive: sigmoid(s) > 1/2, or sign(s) = +1.
    const xt::xarray<float> predicted = xt::cast<float>(xt::flatten(scores) > 0.0f);
    return accuracy(predicted, labels01);
}
}  // namespace

static int run(int argc, char** argv) {
    CLI::App app{"Trains a linear classifier on the breast cancer data (standardised) with Adam"};
    example::Options options;
    example::add_common_options(app, options);
    std::string loss_name = "bce";
    int epochs = 60;
    app.add_option("--loss", loss_name, "The loss")
        ->check(CLI::IsMember({"bce", "logistic", "hinge", "squared_hinge"}))
        ->capture_default_str();
    app.add_option("--epochs", epochs, "Passes over the training set")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (options.quick) epochs = 5;

    // 30 features then the class (0 malignant, 1 benign); the first line is a header.
    const xt::xarray<float> table = load_csv<float>(example::data_file(options, "breast_cancer.csv"), ',', 1);
    const xt::xarray<float> features = xt::view(table, xt::all(), xt::range(0, 30));
    const xt::xarray<float> classes = xt::view(table, xt::all(), 30);
    const example::Parts parts = example::split_three(features, classes, 0.25, 0.2, options.seed);
    const auto standardizer = Standardizer<float>::fit(parts.train_x);
    const xt::xarray<float> train_x = standardizer.transform(parts.train_x);
    const xt::xarray<float> validation_x = standardizer.transform(parts.validation_x);
    const xt::xarray<float> test_x = standardizer.transform(parts.test_x);

    const BinaryLoss loss_fn = make_loss(loss_name);
    const xt::xarray<float> train_labels = loss_fn.signed_labels ? xt::xarray<float>(2.0f * parts.train_y - 1.0f)
                                                                 : parts.train_y;

    Rng rng(options.seed);
    const Dense<float> model(30, 1, Activation::Identity, rng, "linear");
    Adam<float> adam(model.parameters(), {.learning_rate = 0.01});

    example::Training training(options, "val_accuracy");
    example::DataParallel<float> parallel(model.parameters());
    Tape<float> tape;
    const std::size_t n = train_x.shape()[0];
    for (int epoch = training.begin("", model.parameters(), adam, rng); epoch <= epochs; ++epoch) {
        for (const auto& batch : shuffled_batches(n, 32, rng)) {
            parallel.step(adam, tape, batch, [&](std::span<const std::size_t> rows) {
                const Var<float> scores = model(tape.constant(take_rows(train_x, rows)));
                return mean(loss_fn.apply(scores, tape.constant(take_rows(train_labels, rows))));
            });
        }
        const double validation_accuracy = accuracy_of(model, validation_x, parts.validation_y);
        if (!training.epoch(epoch, epochs, parallel.epoch_loss(), validation_accuracy)) {
            return training.stop();
        }
    }
    return training.finish("accuracy", accuracy_of(model, test_x, parts.test_y));
}

int main(int argc, char** argv) {
    return example::main_reporting_errors(argc, argv, run);
}
