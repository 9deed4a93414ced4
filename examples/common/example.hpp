// What every example trainer shares: command-line options, data paths, the three-way split, and the
// epochs' lines, logs, plots and checkpoints.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
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
    std::string log;          // --log FILE.jsonl
    std::string plot;         // --plot FILE.svg
    std::string save;         // --save DIR
    std::string resume;       // --resume DIR
    int stop_after = 0;       // --stop-after N (0: run every epoch)
};

/// Adds --seed, --quick, --data, --log, --plot, --save, --resume and --stop-after to `app`.
inline void add_common_options(CLI::App& app, Options& options) {
    app.add_option("--seed", options.seed, "Seed of the split, the initial weights and the shuffling");
    app.add_flag("--quick", options.quick, "A smoke run: a few epochs on part of the data");
    app.add_option("--data", options.data, "Directory holding the data files")->capture_default_str();
    app.add_option("--log", options.log, "Write one JSON record per epoch to this file (JSON Lines)");
    app.add_option("--plot", options.plot, "Draw the learning curves into this SVG file");
    app.add_option("--save", options.save, "Save a checkpoint into this directory after every epoch");
    app.add_option("--resume", options.resume, "Continue from the checkpoint in this directory");
    app.add_option("--stop-after", options.stop_after, "End after this epoch, as an interruption would")
        ->check(CLI::PositiveNumber);
}

/// The path of a data file, checked to exist so that a wrong --data says so.
inline std::string data_file(const Options& options, const std::string& name) {
    const std::filesystem::path path = std::filesystem::path(options.data) / name;
    if (!std::filesystem::exists(path)) {
        throw std::runtime_error(fmt::format("data file '{}' not found (pass --data DIR)", path.string()));
    }
    return path.string();
}

/// The three parts of a data set: training; validation, for the per-epoch
/// metrics (and any choice made from them); test, held out and used once at the end.
struct Parts {
    xt::xarray<float> train_x, train_y, validation_x, validation_y, test_x, test_y;
};

/// `test_fraction` of the rows for the test part, then `validation_fraction` of
/// the rest for validation, each split seeded from `seed`.
inline Parts split_three(const xt::xarray<float>& x, const xt::xarray<float>& y, double test_fraction,
                         double validation_fraction, std::uint64_t seed) {
    auto outer = xtape::train_test_split(x, y, test_fraction, seed);
    auto inner = xtape::train_test_split(outer.train_x, outer.train_y, validation_fraction, seed + 1);
    return {std::move(inner.train_x), std::move(inner.train_y), std::move(inner.test_x),
            std::move(inner.test_y),  std::move(outer.test_x),  std::move(outer.test_y)};
}

/// The epochs of an example, in one or more stages (a teacher, then a student):
/// a line per epoch, a --log record per epoch, the --plot curves, a --save
/// checkpoint per epoch, --resume, --stop-after, and the closing lines. Under
/// mpirun every rank resumes from the checkpoint and rank 0 alone writes the
/// files (the ranks hold the same model, and only rank 0 prints).
class Training {
public:
    /// `metric_name` names the validation metric of every epoch ("val_accuracy").
    Training(const Options& options, std::string metric_name)
        : options_(options), metric_name_(std::move(metric_name)), writes_(xtape::distributed::rank() == 0) {
        // A resumed run appends to its log; a new one starts it afresh.
        if (writes_ && !options_.log.empty() && options_.resume.empty()) open_log(std::ios::trunc);
    }

    /// Starts a stage ("" for an example of one model, or "teacher", "student"):
    /// the model's parameters, its optimizer and the engine its epochs draw
    /// from, which --save keeps and --resume restores (from DIR, or DIR/stage).
    /// Returns the first epoch to run: 1, or the one after the checkpoint's.
    int begin(std::string stage, const std::vector<xtape::Parameter<float>>& parameters,
              xtape::Optimizer<float>& optimizer, xtape::Rng& rng) {
        stages_.push_back({std::move(stage), parameters, &optimizer, &rng, {}});
        last_ = std::chrono::steady_clock::now();
        const std::filesystem::path checkpoint = checkpoint_in(options_.resume);
        if (options_.resume.empty() || !std::filesystem::exists(checkpoint / "checkpoint.json")) return 1;
        const xtape::CheckpointNotes notes = xtape::load_checkpoint(checkpoint, parameters, optimizer);
        std::istringstream(notes.at("rng")) >> rng;
        for (const auto& r : nlohmann::json::parse(notes.at("history"))) {
            stages_.back().history.push_back(
                {r["epoch"], r["train_loss"], r[metric_name_], r["learning_rate"], r["seconds"]});
        }
        const int epoch = std::stoi(notes.at("epoch"));
        fmt::print("{}resumed from '{}' after epoch {}\n", prefix(), checkpoint.string(), epoch);
        return epoch + 1;
    }

    /// After an epoch of the current stage: its line ("epoch 3/20  loss
    /// 0.123456  val_accuracy 0.9500  lr 1.00e-03  time 0.04213s", with the
    /// seconds this epoch took), its --log record and its --save checkpoint.
    /// Returns false when --stop-after says to end here (see stop).
    bool epoch(int epoch, int epochs, double loss, double metric) {
        Stage& stage = stages_.back();
        const auto now = std::chrono::steady_clock::now();
        const Record record{epoch, loss, metric, stage.optimizer->learning_rate(),
                            std::chrono::duration<double>(now - last_).count()};
        last_ = now;
        stage.history.push_back(record);
        fmt::print("{}epoch {}/{}  loss {:.6f}  {} {:.4f}  lr {:.2e}  time {:#.4g}s\n", prefix(), epoch, epochs, loss,
                   metric_name_, metric, record.learning_rate, record.seconds);
        std::fflush(stdout);
        if (writes_ && !options_.log.empty()) open_log(std::ios::app) << json_of(record).dump() << '\n';
        if (writes_ && !options_.save.empty()) {
            std::ostringstream engine;
            engine << *stage.rng;
            nlohmann::json history = nlohmann::json::array();
            for (const Record& r : stage.history) history.push_back(json_of(r));
            xtape::save_checkpoint(checkpoint_in(options_.save), stage.parameters, *stage.optimizer,
                                   {{"epoch", std::to_string(epoch)}, {"rng", engine.str()},
                                    {"history", history.dump()}});
        }
        return options_.stop_after == 0 || epoch < options_.stop_after;
    }

    /// The exit status of a run that --stop-after ended: 0, with a line saying so.
    int stop() const {
        fmt::print("stopped after epoch {} (--stop-after); --resume continues\n", options_.stop_after);
        return 0;
    }

    /// Prints "loss: first=... last=..." (the last stage's training loss) and,
    /// last, the result on held-out data, once: "result: NAME=VALUE" (the line
    /// the tests read). Draws --plot. Returns the exit status: 1 when the
    /// training loss did not go down from the first epoch to the last (or is
    /// not finite), so that a smoke test can fail.
    int finish(const std::string& result_name, double value) const {
        const auto& history = stages_.back().history;
        const double first = history.empty() ? 0 : history.front().loss;
        const double last = history.empty() ? 0 : history.back().loss;
        fmt::print("loss: first={:.6f} last={:.6f}\n", first, last);
        fmt::print("result: {}={:.4f}\n", result_name, value);
        if (writes_ && !options_.plot.empty()) write_plot();
        return (last < first && std::isfinite(last)) ? 0 : 1;
    }

private:
    struct Record {
        int epoch;
        double loss, metric, learning_rate, seconds;
    };
    struct Stage {
        std::string name;
        std::vector<xtape::Parameter<float>> parameters;
        xtape::Optimizer<float>* optimizer;
        xtape::Rng* rng;
        std::vector<Record> history;
    };

    std::string prefix() const { return stages_.back().name.empty() ? "" : stages_.back().name + " "; }

    std::filesystem::path checkpoint_in(const std::string& directory) const {
        const std::string& stage = stages_.back().name;
        return stage.empty() ? std::filesystem::path(directory) : std::filesystem::path(directory) / stage;
    }

    std::ofstream open_log(std::ios::openmode mode) const {
        std::ofstream log(options_.log, mode);
        if (!log) throw std::runtime_error(fmt::format("cannot write the log '{}'", options_.log));
        return log;
    }

    nlohmann::json json_of(const Record& r) const {
        nlohmann::json record = {{"epoch", r.epoch}, {"train_loss", r.loss}, {metric_name_, r.metric},
                                 {"learning_rate", r.learning_rate}, {"seconds", r.seconds}};
        if (!stages_.back().name.empty()) record["stage"] = stages_.back().name;
        return record;
    }

    // Two panels, the training loss and the validation metric against the
    // epoch, each with one path per stage.
    void write_plot() const {
        constexpr double width = 360, height = 260, margin = 48;
        const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
        std::string svg = fmt::format(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n",
            2 * width, height);
        for (int panel = 0; panel < 2; ++panel) {
            const auto value = [panel](const Record& r) { return panel == 0 ? r.loss : r.metric; };
            double lo = INFINITY, hi = -INFINITY;
            int epochs = 1;
            for (const Stage& stage : stages_) {
                for (const Record& r : stage.history) {
                    if (std::isfinite(value(r))) lo = std::min(lo, value(r)), hi = std::max(hi, value(r));
                    epochs = std::max(epochs, r.epoch);
                }
            }
            if (!(lo <= hi)) lo = 0, hi = 1;
            if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
            const double left = panel * width + margin, right = (panel + 1) * width - 12;
            const double top = 28, bottom = height - 36;
            const auto x_of = [&](int epoch) { return left + (right - left) * (epoch - 1) / std::max(1, epochs - 1); };
            const auto y_of = [&](double v) { return bottom - (bottom - top) * (v - lo) / (hi - lo); };
            svg += fmt::format("<text x=\"{}\" y=\"18\">{}</text>\n", left,
                               panel == 0 ? std::string("training loss") : metric_name_);
            svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", left, bottom,
                               right);
            svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", left, top,
                               bottom);
            svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.4g}</text>\n", left - 4, top + 4, hi);
            svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.4g}</text>\n", left - 4, bottom, lo);
            svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">epoch 1 to {}</text>\n",
                               (left + right) / 2, height - 12, epochs);
            for (std::size_t k = 0; k < stages_.size(); ++k) {
                std::string path;
                for (const Record& r : stages_[k].history) {
                    if (!std::isfinite(value(r))) continue;
                    path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L", x_of(r.epoch), y_of(value(r)));
                }
                svg += fmt::format(
                    "<path fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" d=\"{}\"><title>{}</title></path>\n",
                    colours[k % 4], path, stages_[k].name.empty() ? "model" : stages_[k].name);
            }
        }
        svg += "</svg>\n";
        std::ofstream file(options_.plot);
        file << svg;
        if (!file) throw std::runtime_error(fmt::format("cannot write the plot '{}'", options_.plot));
    }

    const Options& options_;
    std::string metric_name_;
    bool writes_;  // this process writes the files
    std::vector<Stage> stages_;
    std::chrono::steady_clock::time_point last_;
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
        // Alone, the gradients on the tape are the batch's: the step reads them there.
        if (xtape::distributed::size() == 1) {
            optimizer.step();
        } else {
            optimizer.step(averager_.average(tape, share.size()));
        }
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

/// The parts with the training part cut to its first `rows` rows (for --quick).
inline Parts shrink_training(Parts parts, std::size_t rows) {
    if (rows >= parts.train_x.shape()[0]) return parts;
    parts.train_x = xt::view(parts.train_x, xt::range(0, rows));
    parts.train_y = xt::view(parts.train_y, xt::range(0, rows));
    return parts;
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
