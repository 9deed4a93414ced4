// Checkpoints: parameters and optimizer state saved and resumed bit for bit.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <unistd.h>

#include <fmt/format.h>
#include <xtensor/xrandom.hpp>

#include "xtape/losses.hpp"
#include "xtape/train.hpp"
#include "xtape/xtape.hpp"

using namespace xtape;
namespace fs = std::filesystem;

namespace {

// A fresh temporary directory, removed when the test ends.
struct TempDir {
    fs::path path = fs::temp_directory_path() / fmt::format("xtape-test-checkpoint-{}", ::getpid());
    TempDir() { fs::remove_all(path); }
    ~TempDir() { fs::remove_all(path); }
};

bool same_bits(const xt::xarray<float>& a, const xt::xarray<float>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A small classifier trained on fixed random data in shuffled minibatches:
// everything a resumed run needs is the parameters, the optimizer and the
// shuffling engine.
struct Run {
    MLP<float> model;
    std::unique_ptr<Optimizer<float>> optimizer;
    Rng shuffle;

    static MLP<float> make_model(std::uint64_t seed) {
        Rng rng(seed);
        return MLP<float>({5, 8, 3}, Activation::Tanh, rng);
    }

    Run(const std::string& kind, std::uint64_t init_seed) : model(make_model(init_seed)), shuffle(99) {
        if (kind == "Adam") optimizer = std::make_unique<Adam<float>>(model.parameters(), AdamOptions{.weight_decay = 1e-3});
        if (kind == "AdamW") optimizer = std::make_unique<AdamW<float>>(model.parameters());
        if (kind == "SGD") {
            optimizer = std::make_unique<SGD<float>>(model.parameters(),
                                                     SGDOptions{.learning_rate = 0.05, .momentum = 0.9});
        }
    }

    void epoch(const xt::xarray<float>& x, const xt::xarray<float>& y, int index) {
        const CosineSchedule schedule(0.01, 4, {.warmup = 1});
        optimizer->set_learning_rate(schedule(index));
        const SoftmaxCrossEntropyLoss<float> loss;
        Tape<float> tape;
        for (const auto& batch : shuffled_batches(x.shape()[0], 8, shuffle)) {
            tape.backward(mean(loss(model(tape.constant(take_rows(x, batch))), tape.constant(take_rows(y, batch)))));
            clip_grad_norm(model.parameters(), 1.0);
            optimizer->step();
            tape.clear();
        }
    }
};

}  // namespace

TEST_CASE("training resumed from a checkpoint continues bit for bit, for each optimizer") {
    Rng data_rng(5);
    const xt::xarray<float> x = xt::random::randn<float>({40, 5}, 0.f, 1.f, data_rng);
    xt::xarray<float> y = xt::zeros<float>({40});
    for (std::size_t i = 0; i < 40; ++i) y(i) = static_cast<float>(i % 3);
    for (const std::string kind : {"Adam", "AdamW", "SGD"}) {
        CAPTURE(kind);
        TempDir dir;
        // Uninterrupted: four epochs, with a checkpoint after the second.
        Run straight(kind, 1);
        straight.epoch(x, y, 0);
        straight.epoch(x, y, 1);
        std::ostringstream engine;
        engine << straight.shuffle;
        save_checkpoint(dir.path, straight.model.parameters(), *straight.optimizer,
                        {{"epoch", "2"}, {"shuffle", engine.str()}});
        straight.epoch(x, y, 2);
        straight.epoch(x, y, 3);

        // Resumed: another initialisation, its state replaced by the checkpoint's.
        Run resumed(kind, 2);
        const CheckpointNotes notes = load_checkpoint(dir.path, resumed.model.parameters(), *resumed.optimizer);
        CHECK(notes.at("epoch") == "2");
        std::istringstream(notes.at("shuffle")) >> resumed.shuffle;
        CHECK(resumed.optimizer->steps() == 10);
        resumed.epoch(x, y, 2);
        resumed.epoch(x, y, 3);

        CHECK(resumed.optimizer->steps() == straight.optimizer->steps());
        CHECK(resumed.optimizer->learning_rate() == straight.optimizer->learning_rate());
        const auto want = straight.model.parameters(), got = resumed.model.parameters();
        for (std::size_t k = 0; k < want.size(); ++k) {
            CAPTURE(want[k].name());
            CHECK(same_bits(got[k].value(), want[k].value()));
            for (std::size_t slot = 0; slot < straight.optimizer->state_names().size(); ++slot) {
                CHECK(same_bits(resumed.optimizer->state(slot, k), straight.optimizer->state(slot, k)));
            }
        }
        // The training moved away from the checkpoint (so that the comparison means something).
        Run reloaded(kind, 3);
        load_checkpoint(dir.path, reloaded.model.parameters(), *reloaded.optimizer);
        CHECK_FALSE(same_bits(reloaded.model.parameters()[0].value(), want[0].value()));
    }
}

TEST_CASE("a checkpoint is a directory of .npy files with a JSON index, replaced whole on each save") {
    TempDir dir;
    Parameter<double> w("w", xt::xarray<double>{1, 2});
    Parameter<double> frozen("frozen", xt::xarray<double>{{3.0, 4.0}});
    Adam<double> adam({w});
    save_checkpoint(dir.path, {w, frozen}, adam);
    for (const char* file : {"checkpoint.json", "w.npy", "frozen.npy", "w.m.npy", "w.v.npy"}) {
        CHECK(fs::exists(dir.path / file));
    }
    CHECK_FALSE(fs::exists(dir.path / "frozen.m.npy"));  // not the optimizer's
    std::ifstream index(dir.path / "checkpoint.json");
    const std::string text((std::istreambuf_iterator<char>(index)), std::istreambuf_iterator<char>());
    CHECK(text.find("\"name\": \"Adam\"") != std::string::npos);
    CHECK(text.find("\"dtype\": \"float64\"") != std::string::npos);
    // Saved again, with fewer parameters: the old files go, and no temporary stays.
    save_checkpoint(dir.path, {w}, adam);
    CHECK_FALSE(fs::exists(dir.path / "frozen.npy"));
    CHECK_FALSE(fs::exists(dir.path.string() + ".partial"));
    CHECK_FALSE(fs::exists(dir.path.string() + ".old"));
}

TEST_CASE("a checkpoint that does not fit is refused, and nothing changes") {
    TempDir dir;
    Parameter<float> w("w", xt::xarray<float>{1, 2});
    Adam<float> adam({w}, {.learning_rate = 0.5});
    save_checkpoint(dir.path, {w}, adam);

    Parameter<float> other("w", xt::xarray<float>{7, 8});
    SGD<float> sgd({other});
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.path, {other}, sgd), doctest::Contains("optimizer Adam, not of SGD"),
                         ValueError);
    Adam<float> other_betas({other}, {.beta1 = 0.8});
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.path, {other}, other_betas), doctest::Contains("options"), ValueError);
    Parameter<float> wider("w", xt::xarray<float>{1, 2, 3});
    Adam<float> adam_wider({wider});
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.path, {wider}, adam_wider), doctest::Contains("parameter 'w'"),
                         ShapeError);
    Parameter<float> renamed("v", xt::xarray<float>{1, 2});
    Adam<float> adam_renamed({renamed});
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.path, {renamed}, adam_renamed), doctest::Contains("'v'"), ValueError);
    Parameter<double> as_double("w", xt::xarray<double>{1, 2});
    Adam<double> adam_double({as_double});
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.path, {as_double}, adam_double), doctest::Contains("float32"),
                         ValueError);
    // A state file cut short: NpyError, after which the parameter is still as it was.
    {
        std::ofstream cut(dir.path / "w.v.npy", std::ios::binary | std::ios::trunc);
        cut << "\x93NUMPY";
    }
    Adam<float> fresh({other}, {.learning_rate = 0.25});
    CHECK_THROWS_AS(load_checkpoint(dir.path, {other}, fresh), NpyError);
    CHECK(other.value() == xt::xarray<float>{7, 8});
    CHECK(fresh.learning_rate() == 0.25);
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.path / "missing", {other}, fresh), doctest::Contains("cannot be opened"),
                         ValueError);
}

TEST_CASE("save_checkpoint leaves a directory that is not a checkpoint alone") {
    TempDir dir;
    fs::create_directories(dir.path);
    std::ofstream(dir.path / "notes.txt") << "mine";
    Parameter<float> w("w", xt::xarray<float>{1});
    SGD<float> sgd({w});
    CHECK_THROWS_WITH_AS(save_checkpoint(dir.path, {w}, sgd), doctest::Contains("not a checkpoint"), ValueError);
    CHECK(fs::exists(dir.path / "notes.txt"));
    CHECK_THROWS_WITH_AS(save_checkpoint(dir.path / "ckpt", {}, sgd), doctest::Contains("'w'"), ValueError);
    Parameter<float> slash("a/b", xt::xarray<float>{1});
    SGD<float> sgd_slash({slash});
    CHECK_THROWS_WITH_AS(save_checkpoint(dir.path / "ckpt", {slash}, sgd_slash), doctest::Contains("file name"),
                         ValueError);
}
