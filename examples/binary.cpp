// Example: a linear classifier of breast tumours trained with one of five binary losses, on all the
// training rows or on an imbalanced split (few malignant ones).
#include <charconv>
#include <cmath>
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
    if (name == "squared_hinge") return {SquaredHingeLoss<float>(), true};
    // torchvision's alpha = 0.25 weighs class 1 (benign), so the malignant rows weigh 3 times as much.
    return {SigmoidFocalLoss<float>(), false};
}

// The training part with only round(fraction * count) of its malignant rows (class 0), at least one: the
// first ones, a random choice since the split shuffled them. The benign rows stay.
example::Parts keep_malignant(example::Parts parts, double fraction) {
    std::size_t malignant = 0;
    for (const float c : parts.train_y) malignant += c == 0.0f ? 1 : 0;
    const auto keep = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(fraction * malignant)));
    std::vector<std::size_t> rows;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < parts.train_y.size(); ++i) {
        if (parts.train_y(i) == 1.0f || kept++ < keep) rows.push_back(i);
    }
    fmt::print("training on {} of {} malignant rows and all {} benign ones\n", keep, malignant,
               parts.train_y.size() - malignant);
    parts.train_x = take_rows(parts.train_x, rows);
    parts.train_y = take_rows(parts.train_y, rows);
    return parts;
}

// The mean over the two classes of the fraction of each predicted right (its recall): unlike the
// accuracy, a model that calls every tumour benign gets 0.5 however few malignant ones there are.
double balanced_accuracy(const xt::xarray<float>& predicted, const xt::xarray<float>& labels01) {
    double recalls = 0;
    for (const float c : {0.0f, 1.0f}) {
        std::size_t right = 0, total = 0;
        for (std::size_t i = 0; i < labels01.size(); ++i) {
            if (labels01(i) != c) continue;
            ++total;
            right += predicted(i) == c ? 1 : 0;
        }
        if (total == 0) throw std::runtime_error(fmt::format("balanced accuracy: no sample of class {}", c));
        recalls += static_cast<double>(right) / static_cast<double>(total);
    }
    return recalls / 2;
}

// The accuracy, or the balanced accuracy when `balanced`.
double accuracy_of(const Dense<float>& model, const xt::xarray<float>& x, const xt::xarray<float>& labels01,
                   bool balanced) {
    const xt::xarray<float> scores = predict(model, x);
    // Every loss here scores class 1 positive: sigmoid(s) > 1/2, or sign(s) = +1.
    const xt::xarray<float> predicted = xt::cast<float>(xt::flatten(scores) > 0.0f);
    return balanced ? balanced_accuracy(predicted, labels01) : accuracy(predicted, labels01);
}
}  // namespace

static int run(int argc, char** argv) {
    CLI::App app{"Trains a linear classifier on the breast cancer data (standardised) with Adam"};
    example::Options options;
    example::add_common_options(app, options);
    std::string loss_name = "bce";
    int epochs = 60;
    double malignant_fraction = 1;
    app.add_option("--loss", loss_name, "The loss (focal: SigmoidFocalLoss, alpha=0.25 on benign, gamma=2)")
        ->check(CLI::IsMember({"bce", "logistic", "hinge", "squared_hinge", "focal"}))
        ->capture_default_str();
    app.add_option("--epochs", epochs, "Passes over the training set")->capture_default_str();
    app.add_option("--keep-malignant", malignant_fraction,
                   "Train on this fraction of the malignant training rows (0.1: an imbalanced split); the "
                   "validation and test parts stay whole. Below 1 the metric is the balanced accuracy "
                   "(the mean of the two classes' recalls)")
        ->check(CLI::Validator(
            [](const std::string& text) {
                double fraction = 0;
                const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), fraction);
                const bool ok = error == std::errc() && end == text.data() + text.size() && fraction > 0 &&
                                fraction <= 1;
                return ok ? std::string() : fmt::format("a fraction in (0, 1] is wanted, not '{}'", text);
            },
            "FRACTION in (0, 1]", "FRACTION"))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (options.quick) epochs = 5;
    const bool imbalanced = malignant_fraction < 1;

    // 30 features then the class (0 malignant, 1 benign); the first line is a header.
    const xt::xarray<float> table = load_csv<float>(example::data_file(options, "breast_cancer.csv"), ',', 1);
    const xt::xarray<float> features = xt::view(table, xt::all(), xt::range(0, 30));
    const xt::xarray<float> classes = xt::view(table, xt::all(), 30);
    example::Parts parts = example::split_three(features, classes, 0.25, 0.2, options.seed);
    if (imbalanced) parts = keep_malignant(std::move(parts), malignant_fraction);
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

    const std::string metric = imbalanced ? "balanced_accuracy" : "accuracy";
    example::Training training(options, "val_" + metric);
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
        const double validation_accuracy = accuracy_of(model, validation_x, parts.validation_y, imbalanced);
        if (!training.epoch(epoch, epochs, parallel.epoch_loss(), validation_accuracy)) {
            return training.stop();
        }
    }
    return training.finish(metric, accuracy_of(model, test_x, parts.test_y, imbalanced));
}

int main(int argc, char** argv) {
    return example::main_reporting_errors(argc, argv, run);
}
