// What every example trainer shares: command-line options, data paths, progress lines and metrics.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <numbers>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include "xtape/distributed.hpp"
#include "xtape/losses.hpp"
#include "xtape/train.hpp"
#include "xtape/xtape.hpp"

#ifndef XTAPE_EXAMPLES_DATA
#define XTAPE_EXAMPLES_DATA "examples/data"
#endif

namespace example {

/// The options every example takes.
struct Options {
    std::uint64_t seed = 1;
    bool quick = false;
    std::string data = XTAPE_EXAMPLES_DATA;
};

/// Adds --seed, --quick and --data to `app`.
inline void add_common_options(CLI::App& app, Options& options) {
    app.add_option("--seed", options.seed, "Seed of the split, the initial weights and the shuffling");
    app.add_flag("--quick", options.quick, "A smoke run: a few epochs on part of the data");
    app.add_option("--data", options.data, "Directory holding the data files")->capture_default_str();
}

/// The path of a data file, checked to exist so that a wrong --data says so.
inline std::string data_file(const Options& options, const std::string& name) {
    const std::filesystem::path path = std::filesystem::path(options.data) / name;
    if (!std::filesystem::exists(path)) {
        throw std::runtime_error(fmt::format("data file '{}' not found (pass --data DIR)", path.string()));
    }
    return path.string();
}

/// One line per epoch, and the closing lines the tests read.
class Progress {
public:
    /// `stage` starts each line ("epoch", or "teacher epoch" for a second model).
    explicit Progress(std::string metric_name, std::string stage = "epoch")
        : metric_name_(std::move(metric_name)), stage_(std::move(stage)), start_(std::chrono::steady_clock::now()) {}

    /// "epoch 3/20  loss 0.123456  test_accuracy 0.9500  time 1.2s" (time since the start).
    void epoch(int epoch, int epochs, double loss, double metric) {
        losses_.push_back(loss);
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
        fmt::print("{} {}/{}  loss {:.6f}  {} {:.4f}  time {:.1f}s\n", stage_, epoch, epochs, loss, metric_name_,
                   metric, elapsed.count());
        std::fflush(stdout);
    }

    /// Prints "loss: first=... last=..." and the last line "result: NAME=VALUE".
    /// Returns the exit status: 1 when the training loss did not go down from
    /// the first epoch to the last (or is not finite), so a smoke test can fail.
    int finish(const std::string& result_name, double value) const {
        const double first = losses_.empty() ? 0 : losses_.front();
        const double last = losses_.empty() ? 0 : losses_.back();
        fmt::print("loss: first={:.6f} last={:.6f}\n", first, last);
        fmt::print("result: {}={:.4f}\n", result_name, value);
        return (last < first && std::isfinite(last)) ? 0 : 1;
    }

private:
    std::string metric_name_;
    std::string stage_;
    std::chrono::steady_clock::time_point start_;
    std::vector<double> losses_;
};

/// Training steps on every rank that mpirun started (xtape/distributed.hpp):
/// every rank draws the same global batches, runs the model on its share of
/// each, and steps with the gradient averaged over the whole batch, so that
/// the parameters stay equal on every rank. In one process a step is the plain
/// one: backward, the optimizer's step, clear.
template <class T>
class DataParallel {
public:
    /// Starts every rank from rank 0's values of `parameters`; throws on every
    /// rank when the ranks' models differ.
    explicit DataParallel(const std::vector<xtape::Parameter<T>>& parameters) : averager_(parameters) {
        xtape::distributed::broadcast(parameters);
    }

    /// One step on a global batch of `batch_size` samples: `loss_of(share)`
    /// records on `tape` the mean loss over this rank's share of them (it is
    /// not called when the share is empty, a batch smaller than the number of
    /// ranks); then backward, the gradients averaged over the batch, the
    /// optimizer's step and tape.clear().
    template <class Optimizer, class LossOfShare>
    void step(Optimizer& optimizer, xtape::Tape<T>& tape, std::size_t batch_size, const LossOfShare& loss_of) {
        const xtape::distributed::Share share = xtape::distributed::local_share(batch_size);
        if (share.size() > 0) {
            const xtape::Var<T> loss = loss_of(share);
            // This rank's part of the batch's mean loss: the parts add up over the ranks.
            loss_parts_ += loss.value().flat(0) * (static_cast<double>(share.size()) / static_cast<double>(batch_size));
            tape.backward(loss);
        }
        optimizer.step(averager_.average(tape, share.size()));
        tape.clear();
        ++steps_;
    }

    /// As above for a batch of row indices: `loss_of(rows)` gets this rank's rows.
    template <class Optimizer, class LossOfRows>
    void step(Optimizer& optimizer, xtape::Tape<T>& tape, std::span<const std::size_t> batch,
              const LossOfRows& loss_of) {
        step(optimizer, tape, batch.size(),
             [&](xtape::distributed::Share share) { return loss_of(batch.subspan(share.begin, share.size())); });
    }

    /// The mean over the steps since the last call of each whole batch's mean
    /// loss (the same on every rank); the next call starts from there.
    double epoch_loss() {
        const double mean = xtape::distributed::sum(loss_parts_) / static_cast<double>(steps_);
        loss_parts_ = 0;
        steps_ = 0;
        return mean;
    }

private:
    xtape::distributed::GradientAverager<T> averager_;
    double loss_parts_ = 0;
    std::size_t steps_ = 0;
};

/// A cosine schedule: the step size of `epoch` (1-based) falls from `base` to
/// base / 100 along half a cosine, so that minibatch noise dies out by the end.
inline double cosine_rate(double base, int epoch, int epochs) {
    const double progress = static_cast<double>(epoch - 1) / epochs;
    return base * (0.01 + 0.99 * 0.5 * (1 + std::cos(std::numbers::pi * progress)));
}

/// The model's output for `x` computed without recording gradients.
template <class Model>
xt::xarray<float> predict(const Model& model, const xt::xarray<float>& x) {
    xtape::Tape<float> tape;
    xtape::NoGradGuard<float> no_grad(tape);
    return model(tape.constant(x)).value();
}

/// The index of the largest entry of each row of a 2-D array.
inline xt::xarray<float> argmax_rows(const xt::xarray<float>& scores) {
    return xt::cast<float>(xt::argmax(scores, 1));
}

/// The fraction of equal entries.
inline double accuracy(const xt::xarray<float>& predicted, const xt::xarray<float>& labels) {
    std::size_t right = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) right += predicted.flat(i) == labels.flat(i) ? 1 : 0;
    return static_cast<double>(right) / static_cast<double>(labels.size());
}

/// The digits: 8x8 images scaled to [0, 1] as rows of 64, and their classes as floats.
struct Digits {
    xt::xarray<float> images;
    xt::xarray<float> labels;
};

/// Reads digits.csv (64 pixel counts 0..16, then the class).
inline Digits load_digits(const Options& options) {
    const xt::xarray<float> table = xtape::load_csv<float>(data_file(options, "digits.csv"));
    Digits digits;
    digits.images = xt::view(table, xt::all(), xt::range(0, 64)) / 16.0f;
    digits.labels = xt::view(table, xt::all(), 64);
    return digits;
}

/// The training split of the digits, cut to its first `rows` rows (for --quick).
inline xtape::TrainTestSplit<float> shrink_training(xtape::TrainTestSplit<float> split, std::size_t rows) {
    if (rows >= split.train_x.shape()[0]) return split;
    split.train_x = xt::view(split.train_x, xt::range(0, rows));
    split.train_y = xt::view(split.train_y, xt::range(0, rows));
    return split;
}

/// Runs an example's main function, alone or on every rank that mpirun
/// started: an exception (a missing data file, bad input) becomes one line on
/// stderr and exit status 1 instead of an abort, and ends the other ranks too,
/// which may be waiting for this one. Only rank 0 prints to stdout: every rank
/// computes the same progress.
inline int main_reporting_errors(int argc, char** argv, int (*run)(int, char**)) {
    // Outside the try: finalising MPI waits for every rank, so a failing rank
    // must reach abort_all first.
    std::optional<xtape::distributed::Environment> environment;
    try {
        environment.emplace();
        if (xtape::distributed::rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) {
            throw std::runtime_error("cannot send the output of ranks other than 0 to /dev/null");
        }
        return run(argc, argv);
    } catch (const std::exception& e) {
        if (environment && xtape::distributed::size() > 1) {
            fmt::print(stderr, "error: rank {} of {}: {}\n", xtape::distributed::rank(), xtape::distributed::size(),
                       e.what());
        } else {
            fmt::print(stderr, "error: {}\n", e.what());
        }
        std::fflush(stderr);
        xtape::distributed::abort_all(1);
        return 1;
    }
}

}  // namespace example
