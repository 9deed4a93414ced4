// Example: an embedding of the digits learnt with TripletLoss, CosineEmbeddingLoss or SDMLLoss, read by
// 1-nearest-neighbour.
#include <limits>

#include "common/example.hpp"

using namespace xtape;

namespace {
// The row indices of each class 0..9.
std::vector<std::vector<std::size_t>> rows_by_class(const xt::xarray<float>& labels) {
    std::vector<std::vector<std::size_t>> rows(10);
    for (std::size_t i = 0; i < labels.size(); ++i) rows[static_cast<std::size_t>(labels(i))].push_back(i);
    return rows;
}

// A random row of class c, or of any class but c.
std::size_t same_class(const std::vector<std::vector<std::size_t>>& rows, std::size_t c, Rng& rng) {
    return rows[c][uniform_index(rng, rows[c].size())];
}
std::size_t other_class(const std::vector<std::vector<std::size_t>>& rows, std::size_t c, Rng& rng) {
    const std::size_t other = (c + 1 + uniform_index(rng, rows.size() - 1)) % rows.size();
    return same_class(rows, other, rng);
}

// The label of the closest training embedding for each test embedding, by
// squared Euclidean distance or, for a cosine embedding, by the largest cosine.
double nearest_neighbour_accuracy(const xt::xarray<float>& train, const xt::xarray<float>& train_labels,
                                  const xt::xarray<float>& test, const xt::xarray<float>& test_labels, bool cosine) {
    const std::size_t dims = train.shape()[1];
    auto norm = [&](const xt::xarray<float>& e, std::size_t i) {
        double s = 0;
        for (std::size_t k = 0; k < dims; ++k) s += double(e(i, k)) * e(i, k);
        return std::sqrt(s) + 1e-12;
    };
    std::size_t right = 0;
    for (std::size_t i = 0; i < test.shape()[0]; ++i) {
        double best = std::numeric_limits<double>::infinity();
        std::size_t nearest = 0;
        for (std::size_t j = 0; j < train.shape()[0]; ++j) {
            double score = 0;
            for (std::size_t k = 0; k < dims; ++k) {
                score += cosine ? -double(test(i, k)) * train(j, k) : std::pow(double(test(i, k)) - train(j, k), 2);
            }
            if (cosine) score /= norm(test, i) * norm(train, j);
            if (score < best) {
                best = score;
                nearest = j;
            }
        }
        right += train_labels(nearest) == test_labels(i) ? 1 : 0;
    }
    return static_cast<double>(right) / static_cast<double>(test.shape()[0]);
}
}  // namespace

static int run(int argc, char** argv) {
    CLI::App app{"Learns a 32-dimensional embedding of the digits (MLP 64-128-32) from triplets, from pairs, or "
                 "from groups of matching pairs of ten different digits (sdml), and classifies held-out digits by "
                 "their nearest training neighbour in it"};
    example::Options options;
    example::add_common_options(app, options);
    std::string loss_name = "triplet";
    int epochs = 25;
    app.add_option("--loss", loss_name, "The loss (sdml: on groups of ten matching pairs, one of each digit)")
        ->check(CLI::IsMember({"triplet", "cosine", "sdml"}))
        ->capture_default_str();
    app.add_option("--epochs", epochs, "Passes over the training set (as many anchors as training digits; sdml draws them)")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (options.quick) epochs = 3;
    const bool cosine = loss_name == "cosine";

    const example::Digits digits = example::load_digits(options);
    auto parts = example::split_three(digits.images, digits.labels, 0.2, 0.2, options.seed);
    if (options.quick) parts = example::shrink_training(std::move(parts), 400);
    const std::size_t n = parts.train_x.shape()[0];
    const auto classes = rows_by_class(parts.train_y);

    Rng rng(options.seed);
    const MLP<float> embed({64, 128, 32}, Activation::Relu, rng, "embedding");
    Adam<float> adam(embed.parameters(), {.learning_rate = 1e-3});
    const TripletLoss<float> triplet;          // max(0, |a-p|^2 - |a-n|^2 + 1)
    const CosineEmbeddingLoss<float> pairs;    // 1 - cos for a pair of one class, max(0, cos) otherwise
    const SDMLLoss<float> matching;            // x1_i nearest x2_i of all the group's x2_j (Gluon 2.0)

    // Held-out digits classified by their nearest training digit in the embedding.
    auto accuracy_on = [&](const xt::xarray<float>& x, const xt::xarray<float>& y) {
        return nearest_neighbour_accuracy(predict(embed, parts.train_x), parts.train_y, predict(embed, x), y, cosine);
    };
    example::Training training(options, "val_1nn_accuracy");
    example::DataParallel<float> parallel(embed.parameters());
    Tape<float> tape;
    // An epoch of triplets or pairs: one anchor per training digit, in batches of 64.
    auto triplet_or_cosine_epoch = [&] {
        for (const auto& anchors : shuffled_batches(n, 64, rng)) {
            const std::size_t b = anchors.size();
            // Partners for the whole batch, drawn alike in every process (their random
            // streams stay in step); each process trains on its share of the rows.
            std::vector<std::size_t> partners(b), negatives(b);
            xt::xarray<float> same(Shape{b});  // cosine: pairs of one class (1) and of two (-1) alternate
            for (std::size_t i = 0; i < b; ++i) {
                const auto c = std::size_t(parts.train_y(anchors[i]));
                if (!cosine) {
                    partners[i] = same_class(classes, c, rng);
                    negatives[i] = other_class(classes, c, rng);
                } else {
                    same(i) = i % 2 == 0 ? 1.0f : -1.0f;
                    partners[i] = i % 2 == 0 ? same_class(classes, c, rng) : other_class(classes, c, rng);
                }
            }
            parallel.step(adam, tape, b, [&](distributed::Share share) {
                // The same network embeds every part: its parameters enter the tape
                // once per step, so each gets the gradient of all its uses.
                auto embed_rows = [&](const std::vector<std::size_t>& rows) {
                    const auto rows_of_share = std::span(rows).subspan(share.begin, share.size());
                    return embed(tape.constant(take_rows(parts.train_x, rows_of_share)));
                };
                if (!cosine) return mean(triplet(embed_rows(anchors), embed_rows(partners), embed_rows(negatives)));
                const xt::xarray<float> same_share = xt::view(same, xt::range(share.begin, share.end));
                return mean(pairs(embed_rows(anchors), embed_rows(partners), tape.constant(same_share)));
            });
        }
    };
    // SDML takes every x2_j but x2_i for a negative of x1_i, so a group of pairs holds one digit of each
    // class, drawn at random; a step takes a few groups, an epoch as many anchors as there are training rows.
    const std::size_t groups_per_step = 4, group_size = classes.size();
    auto sdml_epoch = [&] {
        for (std::size_t step = 0; step < n / (groups_per_step * group_size); ++step) {
            std::vector<std::size_t> anchors, partners;  // group g: entries [g * group_size, (g + 1) * group_size)
            for (std::size_t g = 0; g < groups_per_step; ++g) {
                for (std::size_t c = 0; c < group_size; ++c) {
                    anchors.push_back(same_class(classes, c, rng));
                    partners.push_back(same_class(classes, c, rng));
                }
            }
            // Each process takes whole groups, so that its losses are those of the whole batch.
            parallel.step(adam, tape, groups_per_step, [&](distributed::Share share) {
                auto embed_groups = [&](const std::vector<std::size_t>& rows) {
                    const auto rows_of_share =
                        std::span(rows).subspan(share.begin * group_size, share.size() * group_size);
                    return embed(tape.constant(take_rows(parts.train_x, rows_of_share)));
                };
                const Var<float> x1 = embed_groups(anchors), x2 = embed_groups(partners);
                std::vector<Var<float>> losses;
                for (std::size_t g = 0; g < share.size(); ++g) {
                    losses.push_back(matching(slice(x1, 0, g * group_size, (g + 1) * group_size),
                                              slice(x2, 0, g * group_size, (g + 1) * group_size)));
                }
                return mean(concat(losses, 0));
            });
        }
    };
    for (int epoch = training.begin("", embed.parameters(), adam, rng); epoch <= epochs; ++epoch) {
        if (loss_name == "sdml") {
            sdml_epoch();
        } else {
            triplet_or_cosine_epoch();
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
