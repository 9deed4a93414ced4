// Example: reading strips of 3 to 5 handwritten digits column by column, trained with CTCLoss, greedy decoding.
#include <algorithm>

#include <fmt/ranges.h>

#include "common/example.hpp"

using namespace xtape;

namespace {
constexpr std::size_t kSide = 8;                            // digits are 8x8
constexpr std::size_t kMinDigits = 3, kMaxDigits = 5;
constexpr std::size_t kMaxFrames = kSide * kMaxDigits;      // one frame per column
constexpr std::size_t kReach = 4;                           // columns a frame sees on each side
constexpr std::size_t kFeatures = (2 * kReach + 1) * kSide;  // the window, column by column
constexpr std::size_t kClasses = 11;                        // digits 0..9, then CTC's blank
constexpr std::size_t kBlank = kClasses - 1;

// A batch of strips: the frames of all strips as rows (strip-major, kMaxFrames
// rows each, zeros past a strip's end), labels padded with -1, frame counts.
struct Strips {
    xt::xarray<float> frames;   // (N * kMaxFrames, kFeatures)
    xt::xarray<float> labels;   // (N, kMaxDigits)
    xt::xarray<float> lengths;  // (N,)
    std::size_t count() const { return lengths.size(); }
};

// `count` strips of 3 to 5 digits drawn from `images` (rows of 64 pixels),
// placed side by side; frame t sees columns t - kReach .. t + kReach.
Strips make_strips(const xt::xarray<float>& images, const xt::xarray<float>& classes, std::size_t count, Rng& rng) {
    Strips s{xt::zeros<float>({count * kMaxFrames, kFeatures}), xt::xarray<float>(Shape{count, kMaxDigits}, -1.0f),
             xt::zeros<float>({count})};
    for (std::size_t n = 0; n < count; ++n) {
        const std::size_t digits = kMinDigits + uniform_index(rng, kMaxDigits - kMinDigits + 1);
        std::vector<std::size_t> rows(digits);
        for (std::size_t k = 0; k < digits; ++k) {
            rows[k] = uniform_index(rng, images.shape()[0]);
            s.labels(n, k) = classes(rows[k]);
        }
        const std::size_t width = digits * kSide;
        s.lengths(n) = static_cast<float>(width);
        for (std::size_t t = 0; t < width; ++t) {
            for (std::size_t w = 0; w < 2 * kReach + 1; ++w) {
                const std::ptrdiff_t column = std::ptrdiff_t(t + w) - std::ptrdiff_t(kReach);
                if (column < 0 || column >= std::ptrdiff_t(width)) continue;
                const std::size_t digit = rows[std::size_t(column) / kSide], x = std::size_t(column) % kSide;
                for (std::size_t y = 0; y < kSide; ++y) {
                    s.frames(n * kMaxFrames + t, w * kSide + y) = images(digit, y * kSide + x);
                }
            }
        }
    }
    return s;
}

// Strips [share.begin, share.end) of a batch.
Strips strips_of(const Strips& s, distributed::Share share) {
    return {xt::view(s.frames, xt::range(share.begin * kMaxFrames, share.end * kMaxFrames)),
            xt::view(s.labels, xt::range(share.begin, share.end)),
            xt::view(s.lengths, xt::range(share.begin, share.end))};
}

// Greedy (best path) decoding: the likeliest class of each frame, repeats
// merged, blanks dropped.
std::vector<std::size_t> greedy_decode(const xt::xarray<float>& logits, std::size_t strip, std::size_t frames) {
    std::vector<std::size_t> out;
    std::size_t previous = kBlank;
    for (std::size_t t = 0; t < frames; ++t) {
        const std::size_t row = strip * kMaxFrames + t;
        std::size_t best = 0;
        for (std::size_t c = 1; c < kClasses; ++c) best = logits(row, c) > logits(row, best) ? c : best;
        if (best != kBlank && best != previous) out.push_back(best);
        previous = best;
    }
    return out;
}

// Levenshtein distance: the fewest insertions, deletions and substitutions.
std::size_t edit_distance(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// The digits of strip n.
std::vector<std::size_t> truth_of(const Strips& strips, std::size_t n) {
    std::vector<std::size_t> truth;
    for (std::size_t k = 0; k < kMaxDigits && strips.labels(n, k) >= 0; ++k) {
        truth.push_back(std::size_t(strips.labels(n, k)));
    }
    return truth;
}

// Character error rate: total edit distance over total label length.
template <class Model>
double character_error_rate(const Model& model, const Strips& strips) {
    const xt::xarray<float> logits = predict(model, strips.frames);
    std::size_t errors = 0, characters = 0;
    for (std::size_t n = 0; n < strips.count(); ++n) {
        const std::vector<std::size_t> truth = truth_of(strips, n);
        errors += edit_distance(greedy_decode(logits, n, std::size_t(strips.lengths(n))), truth);
        characters += truth.size();
    }
    return static_cast<double>(errors) / static_cast<double>(characters);
}

// The first `count` strips: the truth beside the greedy decoding, and the edits between them.
template <class Model>
void print_decodings(const Model& model, const Strips& strips, std::size_t count) {
    const xt::xarray<float> logits = predict(model, strips.frames);
    fmt::print("{:<8} {:<8} {}\n", "truth", "decoded", "edits");
    for (std::size_t n = 0; n < std::min(count, strips.count()); ++n) {
        const std::vector<std::size_t> truth = truth_of(strips, n);
        const std::vector<std::size_t> decoded = greedy_decode(logits, n, std::size_t(strips.lengths(n)));
        const std::string truth_text = fmt::format("{}", fmt::join(truth, ""));
        const std::string decoded_text = fmt::format("{}", fmt::join(decoded, ""));
        fmt::print("{:<8} {:<8} {}\n", truth_text, decoded_text, edit_distance(decoded, truth));
    }
}
}  // namespace

static int run(int argc, char** argv) {
    CLI::App app{"Reads strips of 3 to 5 digits one pixel column per frame: an MLP scores each frame's window "
                 "(9 columns) over 10 digits and the blank, trained with CTCLoss; greedy decoding on strips made "
                 "of held-out digits"};
    example::Options options;
    example::add_common_options(app, options);
    int epochs = 15;
    std::size_t strips_per_epoch = 3200;
    app.add_option("--epochs", epochs, "Epochs of freshly drawn training strips")->capture_default_str();
    app.add_option("--strips", strips_per_epoch, "Training strips per epoch")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (options.quick) {
        epochs = 3;
        strips_per_epoch = 320;
    }

    const example::Digits digits = example::load_digits(options);
    const example::Parts parts = example::split_three(digits.images, digits.labels, 0.2, 0.2, options.seed);
    Rng rng(options.seed);
    // Fixed strips of held-out digits: validation strips of the validation
    // digits for every epoch, test strips of the test digits for the end.
    Rng held_out_rng(options.seed + 1);
    const Strips validation =
        make_strips(parts.validation_x, parts.validation_y, options.quick ? 100 : 300, held_out_rng);
    const Strips test = make_strips(parts.test_x, parts.test_y, options.quick ? 100 : 500, held_out_rng);

    const MLP<float> model({kFeatures, 128, kClasses}, Activation::Relu, rng, "frame");
    Adam<float> adam(model.parameters(), {.learning_rate = 2e-3});
    const CTCLoss<float> ctc;  // layout NTC, labels NT padded with -1, blank = class 10

    example::Training training(options, "val_cer");
    example::DataParallel<float> parallel(model.parameters());
    Tape<float> tape;
    const std::size_t batch = 32;
    for (int epoch = training.begin("", model.parameters(), adam, rng); epoch <= epochs; ++epoch) {
        const std::size_t steps = strips_per_epoch / batch;
        for (std::size_t step = 0; step < steps; ++step) {
            // Every process draws the whole batch (their random streams stay in step) and trains on its share.
            const Strips strips = make_strips(parts.train_x, parts.train_y, batch, rng);
            parallel.step(adam, tape, batch, [&](distributed::Share share) {
                const Strips mine = strips_of(strips, share);
                const Var<float> frame_logits = model(tape.constant(mine.frames));
                const Var<float> logits = reshape(frame_logits, Shape{mine.count(), kMaxFrames, kClasses});
                return mean(ctc(logits, tape.constant(mine.labels), tape.constant(mine.lengths)));
            });
        }
        if (!training.epoch(epoch, epochs, parallel.epoch_loss(), character_error_rate(model, validation))) {
            return training.stop();
        }
    }
    print_decodings(model, test, 8);
    return training.finish("cer", character_error_rate(model, test));
}

int main(int argc, char** argv) {
    return example::main_reporting_errors(argc, argv, run);
}
