// Every registered loss: options from text, repr, lookup, and gradcheck x option grid x shapes, float vs double.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>

#include "xtape/xtape.hpp"

#include "support/registry_walk.hpp"

using namespace xtape;
using xtape::test::apply_on;
using xtape::test::LossFunction;
using xtape::test::chosen_inputs;
using xtape::test::option_grid;

namespace {

std::string describe(const LossInfo& info, const OptionMap& options, const Shape& shape, bool optionals) {
    std::string text = fmt::format("{} shape {} {}", info.repr(options), to_string(shape),
                                   optionals ? "with optional inputs" : "without optional inputs");
    return text;
}

}  // namespace

TEST_CASE("every registered loss: gradcheck over its option grid, two shapes, with and without optional inputs") {
    std::size_t checks = 0;
    for (const LossInfo& info : loss_registry()) {
        if (info.name == "CTCLoss") continue;  // CTC has its own layouts and tests
        for (const OptionMap& options : option_grid(info)) {
            for (const Shape& shape : info.check_shapes) {
                const ArrayMap<double> sample = info.sample(options, shape, 17 + checks);
                for (bool optionals : {false, true}) {
                    const LossFunction f(info, options, chosen_inputs(info, sample, optionals));
                    const GradcheckResult result = gradcheck(f, f.leaves);
                    INFO(describe(info, options, shape, optionals), ": ", to_string(result));
                    CHECK(result.passed);
                    CHECK(result.checked > 0);
                    ++checks;
                }
            }
        }
    }
    MESSAGE(checks, " gradchecks");
}

TEST_CASE("every registered loss: float agrees with double to 1e-5 relative") {
    for (const LossInfo& info : loss_registry()) {
        if (info.name == "CTCLoss") continue;
        for (const OptionMap& options : option_grid(info)) {
            for (const Shape& shape : info.check_shapes) {
                const ArrayMap<double> inputs = info.sample(options, shape, 5);
                Tape<double> dtape;
                Tape<float> ftape;
                const auto d = apply_on<double>(dtape, info, options, inputs, {}, {}).value();
                const auto f = apply_on<float>(ftape, info, options, inputs, {}, {}).value();
                INFO(describe(info, options, shape, true));
                REQUIRE(f.shape() == d.shape());
                for (std::size_t i = 0; i < d.size(); ++i) {
                    CHECK(static_cast<double>(f.flat(i)) == doctest::Approx(d.flat(i)).epsilon(1e-5));
                }
            }
        }
    }
}

TEST_CASE("the registry lists the twelve non-CTC Gluon losses in Gluon's order, then beyond-gluon.md's four") {
    std::vector<std::string> names;
    for (const auto& info : loss_registry()) {
        if (info.name != "CTCLoss") names.push_back(info.name);
    }
    const std::vector<std::string> expected = {
        "L2Loss",     "L1Loss",           "SigmoidBinaryCrossEntropyLoss", "SoftmaxCrossEntropyLoss",
        "KLDivLoss",  "HuberLoss",        "HingeLoss",                     "SquaredHingeLoss",
        "LogisticLoss", "TripletLoss",    "PoissonNLLLoss",                "CosineEmbeddingLoss",
        "SDMLLoss",   "SigmoidFocalLoss", "GaussianNLLLoss",               "MarginRankingLoss"};
    CHECK(names == expected);
    CHECK(find_loss("SoftmaxCELoss").name == "SoftmaxCrossEntropyLoss");
    CHECK(find_loss("sigmoidbceloss").name == "SigmoidBinaryCrossEntropyLoss");
    CHECK(find_loss("l2loss").name == "L2Loss");
    CHECK_THROWS_WITH_AS(find_loss("L3Loss"), doctest::Contains("L2Loss"), ValueError);
}

TEST_CASE("every registry entry is consistent: defaults parse, grids hold the default, samples fit the inputs") {
    for (const auto& info : loss_registry()) {
        INFO(info.name);
        CHECK_FALSE(info.summary.empty());
        CHECK_FALSE(info.check_shapes.empty());
        CHECK(info.repr({}).rfind(info.name + "(batch_axis=", 0) == 0);
        for (const auto& option : info.options) {
            INFO(option.name);
            CHECK(std::find(option.grid.begin(), option.grid.end(), option.default_value) != option.grid.end());
        }
        if (info.name == "CTCLoss") continue;
        const auto sample = info.sample({}, info.check_shapes.front(), 1);
        for (const auto& input : info.inputs) CHECK(sample.count(input.name) == 1);
        CHECK(sample.size() == info.inputs.size());
    }
}

TEST_CASE("repr prints batch_axis, w and the loss's own options") {
    CHECK(find_loss("SoftmaxCELoss").repr({}) ==
          "SoftmaxCrossEntropyLoss(batch_axis=0, w=None, axis=-1, sparse_label=true, from_logits=false, "
          "label_smoothing=0, ignore_index=None)");
    CHECK(find_loss("L2Loss").repr({{"weight", "0.25"}, {"batch_axis", "-1"}}) == "L2Loss(batch_axis=-1, w=0.25)");
    CHECK(find_loss("LogisticLoss").repr({{"label_format", "binary"}}) ==
          "LogisticLoss(batch_axis=0, w=None, label_format=binary)");
    CHECK(find_loss("PoissonNLLLoss").repr({{"compute_full", "1"}}) ==
          "PoissonNLLLoss(batch_axis=0, w=None, from_logits=true, compute_full=true, epsilon=1e-08)");
    CHECK(SoftmaxCrossEntropyLoss<float>({.axis = 1, .sparse_label = false}).repr() ==
          "SoftmaxCrossEntropyLoss(batch_axis=0, w=None, axis=1, sparse_label=false, from_logits=false, "
          "label_smoothing=0, ignore_index=None)");
    CHECK(HuberLoss<double>({.rho = 2, .weight = 0.5}).repr() == "HuberLoss(batch_axis=0, w=0.5, rho=2)");
}

TEST_CASE("options from text: unknown names and malformed values throw, naming the loss and the option") {
    const LossInfo& ce = find_loss("SoftmaxCrossEntropyLoss");
    CHECK_THROWS_WITH_AS(ce.repr({{"axes", "1"}}), doctest::Contains("SoftmaxCrossEntropyLoss: unknown option 'axes'"),
                         ValueError);
    CHECK_THROWS_WITH_AS(ce.repr({{"sparse_label", "yes"}}),
                         doctest::Contains("SoftmaxCrossEntropyLoss: option sparse_label = 'yes'"), ValueError);
    CHECK_THROWS_WITH_AS(ce.repr({{"axis", "1.5"}}), doctest::Contains("option axis"), ValueError);
    CHECK_THROWS_WITH_AS(ce.repr({{"weight", "heavy"}}), doctest::Contains("option weight"), ValueError);
    CHECK_THROWS_WITH_AS(find_loss("HuberLoss").repr({{"rho", "nan"}}), doctest::Contains("HuberLoss: option rho"),
                         ValueError);
    CHECK_THROWS_WITH_AS(find_loss("HuberLoss").repr({{"rho", "-1"}}), doctest::Contains("HuberLoss"), ValueError);
    CHECK_THROWS_WITH_AS(find_loss("LogisticLoss").repr({{"label_format", "onehot"}}),
                         doctest::Contains("LogisticLoss: option label_format = 'onehot' is not one of signed, binary"),
                         ValueError);
    // Accepted spellings.
    CHECK(ce.repr({{"sparse_label", "False"}, {"from_logits", "1"}, {"weight", "none"}}) ==
          "SoftmaxCrossEntropyLoss(batch_axis=0, w=None, axis=-1, sparse_label=false, from_logits=true, "
          "label_smoothing=0, ignore_index=None)");
    CHECK(find_loss("L1Loss").repr({{"weight", "2.5e-1"}}) == "L1Loss(batch_axis=0, w=0.25)");
}

TEST_CASE("apply through the registry: inputs by name, missing and unknown ones throw") {
    const LossInfo& l1 = find_loss("L1Loss");
    Tape<double> tape;
    const auto pred = tape.leaf(xt::xarray<double>{{1, 2}});
    const auto label = tape.leaf(xt::xarray<double>{{2, 4}});
    CHECK(l1.apply<double>({}, {{"pred", pred}, {"label", label}}).value()(0) == doctest::Approx(1.5));
    CHECK_THROWS_WITH_AS(l1.apply<double>({}, {{"pred", pred}}), doctest::Contains("L1Loss: missing input 'label'"),
                         ValueError);
    CHECK_THROWS_WITH_AS(l1.apply<double>({}, {{"pred", pred}, {"label", label}, {"weights", label}}),
                         doctest::Contains("L1Loss: unknown input 'weights'"), ValueError);
    Tape<float> ftape;
    const auto fpred = ftape.leaf(xt::xarray<float>{{1, 2}});
    CHECK(find_loss("HingeLoss").apply<float>({{"margin", "3"}}, {{"pred", fpred}, {"label", fpred}}).value()(0) ==
          doctest::Approx(((3 - 1) + 0) / 2.0));
}

TEST_CASE("bind builds the loss once: bad options throw at bind, the bound loss serves many tapes") {
    const LossInfo& hinge = find_loss("HingeLoss");
    CHECK_THROWS_WITH_AS(hinge.bind<double>({{"margin", "wide"}}), doctest::Contains("HingeLoss: option margin"),
                         ValueError);
    const BoundLoss<double> bound = hinge.bind<double>({{"margin", "3"}});
    for (const double p : {1.0, 2.5}) {
        CAPTURE(p);
        Tape<double> tape;
        const auto pred = tape.leaf(xt::xarray<double>{{p, -p}});
        const auto label = tape.constant(xt::xarray<double>{{1, 1}});
        const double want = (std::max(0.0, 3 - p) + std::max(0.0, 3 + p)) / 2;
        CHECK(bound({{"pred", pred}, {"label", label}}).value()(0) == doctest::Approx(want));
        CHECK(hinge.apply<double>({{"margin", "3"}}, {{"pred", pred}, {"label", label}}).value()(0) ==
              doctest::Approx(want));
        CHECK_THROWS_WITH_AS(bound({{"pred", pred}}), doctest::Contains("HingeLoss: missing input 'label'"), ValueError);
    }
}

TEST_CASE("every registered loss accepts NaN in a differentiable input without an error or a crash") {
    for (const LossInfo& info : loss_registry()) {
        if (info.name == "CTCLoss") continue;
        const ArrayMap<double> sample = info.sample({}, info.check_shapes.front(), 3);
        for (const auto& spec : info.inputs) {
            if (!info.is_differentiable({}, spec.name)) continue;
            INFO(info.name, " with NaN in ", spec.name);
            ArrayMap<double> inputs = sample;
            inputs.at(spec.name).flat(0) = std::nan("");
            Tape<double> tape;
            InputMap<double> vars;
            for (const auto& [name, value] : inputs) vars.emplace(name, tape.leaf(value));
            Var<double> out;
            CHECK_NOTHROW(out = info.apply<double>({}, vars));
            CHECK_NOTHROW(tape.backward(sum(out)));
        }
    }
}

namespace {

std::string trim_quotes(std::string text) {
    const auto first = text.find_first_not_of(" '`");
    const auto last = text.find_last_not_of(" '`");
    return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

// The options column of each loss's row in a contract's table of losses
// ("| HuberLoss | rho=1, weight=None, batch_axis=0 | ..."), by loss name, added to `table`.
void read_table_defaults(const std::string& path, std::map<std::string, std::map<std::string, std::string>>& table) {
    std::ifstream file(path);
    REQUIRE(file.good());
    std::string line;
    while (std::getline(file, line)) {
        std::vector<std::string> cells;
        std::stringstream row(line);
        std::string cell;
        while (std::getline(row, cell, '|')) cells.push_back(cell);
        if (line.rfind("| ", 0) != 0 || cells.size() < 3) continue;
        const std::string name = trim_quotes(cells[1].substr(0, cells[1].find('(')));
        std::map<std::string, std::string> options;
        std::stringstream pairs(cells[2]);
        std::string pair;
        while (std::getline(pairs, pair, ',')) {
            const auto equals = pair.find('=');
            if (equals != std::string::npos) {
                options[trim_quotes(pair.substr(0, equals))] = trim_quotes(pair.substr(equals + 1));
            }
        }
        if (!options.empty()) table[name] = options;
    }
}

// The options a contract adds to an existing loss, under a heading that names them
// ("### CTCLoss: `blank_label`"; "input `class_weight`" is an input, not an option),
// each with the default its section states: "`blank_label = 'last'`" or
// "`ignore_index` (... default: none)". Added to the loss's entry of `table`.
void read_added_options(const std::string& path, std::map<std::string, std::map<std::string, std::string>>& table) {
    std::ifstream file(path);
    REQUIRE(file.good());
    std::vector<std::pair<std::string, std::string>> sections;  // heading, body
    std::string line;
    while (std::getline(file, line)) {
        if (line.rfind("## ", 0) == 0) sections.emplace_back("", "");  // a section of another kind ends one
        if (line.rfind("### ", 0) == 0) {
            sections.emplace_back(line.substr(4), "");
        } else if (!sections.empty()) {
            sections.back().second += line + "\n";
        }
    }
    for (const auto& [heading, body] : sections) {
        const auto colon = heading.find(':');
        if (colon == std::string::npos) continue;
        const std::string loss = trim_quotes(heading.substr(0, colon));
        std::stringstream names(heading.substr(colon + 1));
        std::string item;
        while (std::getline(names, item, ',')) {
            if (trim_quotes(item).rfind("input ", 0) == 0) continue;
            const std::string option = trim_quotes(item);
            std::string value;
            const auto assigned = body.find("`" + option + " = ");
            if (assigned != std::string::npos) {
                const auto start = assigned + option.size() + 4;
                value = trim_quotes(body.substr(start, body.find('`', start) - start));
            } else {
                const auto named = body.find("`" + option + "`");
                REQUIRE_MESSAGE(named != std::string::npos, option, " is not described under ", heading);
                const auto stated = body.find("default: ", named);
                REQUIRE(stated != std::string::npos);
                const auto start = stated + 9;
                value = trim_quotes(body.substr(start, body.find_first_of(");", start) - start));
            }
            table[loss][option] = value;
        }
    }
}

// Whether a registry default and a documented one say the same: as numbers
// when both are numbers (1e-8 and 1e-08), else as text, case aside (false, False).
bool same_default(const std::string& registry, const std::string& documented) {
    char* end_a = nullptr;
    char* end_b = nullptr;
    const double a = std::strtod(registry.c_str(), &end_a);
    const double b = std::strtod(documented.c_str(), &end_b);
    if (!registry.empty() && !documented.empty() && *end_a == 0 && *end_b == 0) return a == b;
    std::string x = registry, y = documented;
    for (char& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : y) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return x == y;
}

}  // namespace

TEST_CASE("every loss's options and defaults are those of docs/gluon-losses.md and docs/beyond-gluon.md") {
    std::map<std::string, std::map<std::string, std::string>> documented;
    read_table_defaults(std::string(XTAPE_DOCS_DIR) + "/gluon-losses.md", documented);
    read_table_defaults(std::string(XTAPE_DOCS_DIR) + "/beyond-gluon.md", documented);
    read_added_options(std::string(XTAPE_DOCS_DIR) + "/beyond-gluon.md", documented);
    // The added options are read as documented.
    CHECK(documented.at("CTCLoss").at("blank_label") == "last");
    CHECK(documented.at("SoftmaxCrossEntropyLoss").at("label_smoothing") == "0");
    CHECK(documented.at("SoftmaxCrossEntropyLoss").at("ignore_index") == "none");
    for (const LossInfo& info : loss_registry()) {
        CAPTURE(info.name);
        const auto row = documented.find(info.name);
        REQUIRE(row != documented.end());
        std::map<std::string, std::string> registry;
        for (const OptionSpec& option : info.options) registry[option.name] = option.default_value;
        for (const auto& [name, value] : row->second) {
            CAPTURE(name);
            REQUIRE(registry.count(name) == 1);
            CHECK(same_default(registry.at(name), value));
        }
        for (const auto& [name, value] : registry) {
            CAPTURE(name);
            CHECK(row->second.count(name) == 1);
        }
    }
}
