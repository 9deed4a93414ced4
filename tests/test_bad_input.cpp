// Bad input everywhere: every op and every registered loss rejects invalid
// arguments with an std::invalid_argument naming it, leaves its tape as it was,
// and lets NaN and inf through without an error.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "xtape/io/npy.hpp"
#include "xtape/xtape.hpp"

using namespace xtape;

namespace {

constexpr std::ptrdiff_t huge_axis = std::numeric_limits<std::ptrdiff_t>::max();
constexpr std::ptrdiff_t most_negative_axis = std::numeric_limits<std::ptrdiff_t>::min();

// `call` throws an std::invalid_argument whose message contains `name`, and
// the tape holds exactly the nodes it held before.
template <class T>
void check_rejected(const Tape<T>& tape, const std::string& name, const std::function<void()>& call) {
    const std::size_t before = tape.size();
    bool threw = false;
    try {
        call();
    } catch (const std::invalid_argument& e) {
        threw = true;
        CHECK_MESSAGE(std::string(e.what()).find(name) != std::string::npos,
                      fmt::format("the message '{}' does not name '{}'", e.what(), name));
    }
    CHECK_MESSAGE(threw, fmt::format("{}: no std::invalid_argument", name));
    CHECK_MESSAGE(tape.size() == before,
                  fmt::format("{}: the throwing call left {} node(s) on the tape", name, tape.size() - before));
}

// `call` either succeeds or throws std::invalid_argument leaving the tape as
// it was; nothing else (no crash, no other exception). For inputs where an
// empty result is as reasonable as an error.
template <class T>
void check_clean(const Tape<T>& tape, const std::string& what, const std::function<void()>& call) {
    const std::size_t before = tape.size();
    try {
        call();
    } catch (const std::invalid_argument&) {
        CHECK_MESSAGE(tape.size() == before, fmt::format("{}: the throwing call left nodes on the tape", what));
    }
}

template <class T>
xt::xarray<T> ramp(const Shape& shape) {
    xt::xarray<T> a = xt::arange<T>(T(0), T(element_count(shape)));
    a.reshape(shape);
    return a / T(7) - T(0.5);
}

}  // namespace

TEST_CASE_TEMPLATE("bad input: binary and unary ops reject what does not broadcast, leave the tape alone", T, float,
                   double) {
    Tape<T> tape;
    const Var<T> a = tape.leaf(ramp<T>({2, 3}));
    const Var<T> b = tape.leaf(ramp<T>({4, 3}));
    using Binary = Var<T> (*)(const Var<T>&, const Var<T>&);
    const std::vector<std::pair<std::string, Binary>> binaries = {
        {"add", &add<T>}, {"sub", &sub<T>}, {"mul", &mul<T>},
        {"div", &div<T>}, {"maximum", &maximum<T>}, {"minimum", &minimum<T>},
    };
    // No structured bindings captured below: clang 14 rejects them.
    for (const auto& binary : binaries) check_rejected(tape, binary.first, [&] { binary.second(a, b); });
    check_rejected(tape, "clip", [&] { clip(a, T(1), T(0)); });
    check_rejected(tape, "where", [&] { xtape::where(Mask(xt::ones<bool>({4, 1})), a, a); });
    check_rejected(tape, "where", [&] { xtape::where(Mask(xt::ones<bool>({2, 3})), a, b); });
}

TEST_CASE_TEMPLATE("bad input: a Var of another tape, a stale Var, a default Var", T, float, double) {
    Tape<T> tape, other;
    const Var<T> a = tape.leaf(ramp<T>({2, 3}));
    const Var<T> foreign = other.leaf(ramp<T>({2, 3}));
    check_rejected(tape, "add", [&] { add(a, foreign); });
    check_rejected(other, "add", [&] { add(foreign, a); });
    check_rejected(tape, "concat", [&] { concat<T>({a, foreign}, 0); });

    Tape<T> cleared;
    const Var<T> stale = cleared.leaf(ramp<T>({2}));
    cleared.clear();
    CHECK_THROWS_AS(exp(stale), TapeError);
    CHECK_THROWS_AS(stale.value(), TapeError);
    CHECK(cleared.size() == 0);
    CHECK_FALSE(Var<T>().valid());
    CHECK_THROWS_AS(exp(Var<T>()), TapeError);
}

TEST_CASE_TEMPLATE("bad input: reductions with negative, huge or repeated axes, empty axes", T, float, double) {
    Tape<T> tape;
    const Var<T> a = tape.leaf(ramp<T>({2, 3}));
    using Reduction = Var<T> (*)(const Var<T>&, const Axes&, bool);
    const std::vector<std::pair<std::string, Reduction>> reductions = {
        {"sum", &sum<T>}, {"mean", &mean<T>}, {"max", &max<T>}, {"logsumexp", &logsumexp<T>}};
    for (const auto& reduction : reductions) {
        for (const Axes& axes : std::vector<Axes>{{2}, {-3}, {huge_axis}, {most_negative_axis}, {0, 0}, {1, -1}}) {
            check_rejected(tape, reduction.first, [&] { reduction.second(a, axes, false); });
        }
    }
    // A reduction over an axis of length 0: the mean, max and logsumexp are undefined.
    const Var<T> empty = tape.leaf(xt::xarray<T>::from_shape({0, 3}));
    check_rejected(tape, "mean", [&] { mean(empty, {0}); });
    check_rejected(tape, "max", [&] { max(empty, {0}); });
    check_rejected(tape, "logsumexp", [&] { logsumexp(empty, {0}); });
    // The sum of nothing is 0.
    CHECK(sum(empty, {0}).value() == xt::xarray<T>(xt::zeros<T>({3})));
}

TEST_CASE_TEMPLATE("bad input: shape ops with wrong shapes, axes, permutations and ranges", T, float, double) {
    Tape<T> tape;
    const Var<T> a = tape.leaf(ramp<T>({2, 3}));
    const Var<T> wider = tape.leaf(ramp<T>({2, 4}));
    const Var<T> transposed = tape.leaf(ramp<T>({3, 2}));
    check_rejected(tape, "reshape", [&] { reshape(a, Shape{4, 2}); });
    check_rejected(tape, "reshape", [&] { reshape(a, Shape{}); });
    check_rejected(tape, "transpose", [&] { transpose(a, Axes{0}); });
    check_rejected(tape, "transpose", [&] { transpose(a, Axes{0, 0}); });
    check_rejected(tape, "transpose", [&] { transpose(a, Axes{0, 2}); });
    check_rejected(tape, "transpose", [&] { transpose(a, Axes{most_negative_axis, 0}); });
    check_rejected(tape, "swapaxes", [&] { swapaxes(a, 0, 2); });
    check_rejected(tape, "swapaxes", [&] { swapaxes(a, huge_axis, 0); });
    check_rejected(tape, "swapaxes", [&] { swapaxes(a, 0, most_negative_axis); });
    check_rejected(tape, "broadcast_to", [&] { broadcast_to(a, Shape{4, 3}); });
    check_rejected(tape, "broadcast_to", [&] { broadcast_to(a, Shape{3}); });
    check_rejected(tape, "slice", [&] { slice(a, 1, 2, 1); });
    check_rejected(tape, "slice", [&] { slice(a, 1, 0, 4); });
    check_rejected(tape, "slice", [&] { slice(a, 1, 0, 3, 0); });
    check_rejected(tape, "slice", [&] { slice(a, 2, 0, 1); });
    check_rejected(tape, "slice", [&] { slice(a, most_negative_axis, 0, 1); });
    check_rejected(tape, "slice", [&] { slice(a, 0, 0, std::numeric_limits<std::size_t>::max()); });
    check_rejected(tape, "concat", [&] { concat<T>({}, 0); });
    check_rejected(tape, "concat", [&] { concat<T>({a, wider}, 0); });
    check_rejected(tape, "concat", [&] { concat<T>({a, a}, huge_axis); });
    check_rejected(tape, "stack", [&] { stack<T>({}, 0); });
    check_rejected(tape, "stack", [&] { stack<T>({a, transposed}, 0); });
    check_rejected(tape, "stack", [&] { stack<T>({a, a}, 3); });
    check_rejected(tape, "stack", [&] { stack<T>({a, a}, most_negative_axis); });
}

TEST_CASE_TEMPLATE("bad input: gather and pick with wrong index shapes, indices out of range, NaN indices", T, float,
                   double) {
    Tape<T> tape;
    const Var<T> a = tape.leaf(ramp<T>({2, 3}));
    check_rejected(tape, "gather", [&] { gather(a, IndexArray{{0, 1}}, 1); });
    check_rejected(tape, "gather", [&] { gather(a, IndexArray{{0, 3}, {1, 1}}, 1); });
    check_rejected(tape, "gather", [&] { gather(a, IndexArray{{0, -1}, {1, 1}}, 1); });
    check_rejected(tape, "gather", [&] { gather(a, IndexArray{{0, 1}, {1, 1}}, 2); });
    check_rejected(tape, "pick", [&] { pick(a, IndexArray{0, 1, 2}, 1); });
    check_rejected(tape, "pick", [&] { pick(a, IndexArray{0, 3}, 1); });
    check_rejected(tape, "pick", [&] { pick(a, IndexArray{0, std::numeric_limits<std::int64_t>::min()}, 1); });
    check_rejected(tape, "pick", [&] { pick(a, IndexArray{0, 1}, huge_axis); });
    const T nan = std::numeric_limits<T>::quiet_NaN();
    const T inf = std::numeric_limits<T>::infinity();
    for (T bad : {nan, inf, T(0.5), T(1e30)}) {
        const Var<T> index = tape.constant(xt::xarray<T>{0, bad});
        check_rejected(tape, "pick", [&] { pick(a, index, 1); });
    }
}

TEST_CASE_TEMPLATE("bad input: softmax, log_softmax and matmul", T, float, double) {
    Tape<T> tape;
    const Var<T> a = tape.leaf(ramp<T>({2, 3}));
    for (std::ptrdiff_t axis : {std::ptrdiff_t(2), std::ptrdiff_t(-3), huge_axis, most_negative_axis}) {
        check_rejected(tape, "log_softmax", [&] { log_softmax(a, axis); });
        check_rejected(tape, "softmax", [&] { softmax(a, axis); });
    }
    const Var<T> vector = tape.leaf(ramp<T>({3}));
    const Var<T> batch_of_2 = tape.leaf(ramp<T>({2, 2, 3}));
    const Var<T> batch_of_3 = tape.leaf(ramp<T>({3, 3, 2}));
    check_rejected(tape, "matmul", [&] { matmul(a, a); });
    check_rejected(tape, "matmul", [&] { matmul(a, vector); });
    check_rejected(tape, "matmul", [&] { matmul(batch_of_2, batch_of_3); });
}

TEST_CASE_TEMPLATE("bad input: backward from a non-scalar root or with a seed of another shape", T, float, double) {
    Tape<T> tape;
    const Var<T> a = tape.leaf(ramp<T>({2, 3}));
    const Var<T> y = exp(a);
    CHECK_THROWS_AS(tape.backward(y), ShapeError);
    CHECK_THROWS_AS(tape.backward(y, xt::xarray<T>(xt::ones<T>({3, 2}))), ShapeError);
    CHECK_FALSE(a.has_grad());
}

TEST_CASE_TEMPLATE("bad input: ops on empty arrays give empty results or clean errors", T, float, double) {
    Tape<T> tape;
    for (const Shape& shape : {Shape{0}, Shape{0, 3}, Shape{2, 0}}) {
        const Var<T> e = tape.leaf(xt::xarray<T>::from_shape(shape));
        const std::string what = "empty " + to_string(shape);
        check_clean(tape, what, [&] {
            const Var<T> y = sum(mul(exp(e), add(e, T(1))));
            tape.backward(y);
            CHECK(y.value()() == T(0));
            CHECK(e.grad().shape() == shape);
        });
        check_clean(tape, what, [&] { softmax(e, -1); });
        check_clean(tape, what, [&] { log_softmax(e, 0); });
        check_clean(tape, what, [&] { transpose(e); });
        check_clean(tape, what, [&] { concat<T>({e, e}, 0); });
        check_clean(tape, what, [&] { stack<T>({e, e}, 0); });
        check_clean(tape, what, [&] { reshape(e, Shape{0}); });
    }
}

TEST_CASE_TEMPLATE("bad input: NaN and inf pass through every elementwise op without an error", T, float, double) {
    Tape<T> tape;
    const T inf = std::numeric_limits<T>::infinity();
    const T nan = std::numeric_limits<T>::quiet_NaN();
    const Var<T> a = tape.leaf(xt::xarray<T>{nan, inf, -inf, T(1)});
    using Unary = Var<T> (*)(const Var<T>&);
    const std::vector<std::pair<std::string, Unary>> unaries = {
        {"neg", &neg<T>},   {"exp", &exp<T>},         {"log", &log<T>},   {"log1p", &log1p<T>},
        {"sqrt", &sqrt<T>}, {"square", &square<T>},   {"abs", &abs<T>},   {"relu", &relu<T>},
        {"sigmoid", &sigmoid<T>}, {"tanh", &tanh<T>}, {"softplus", &softplus<T>},
        {"smooth_l1", [](const Var<T>& v) { return smooth_l1(v, T(1)); }}};
    for (const auto& unary : unaries) {
        CAPTURE(unary.first);
        const Var<T> y = unary.second(a);
        tape.backward(sum(y));
        // NaN in gives NaN out: never a silent number.
        CHECK(std::isnan(y.value()(0)));
        tape.zero_grad();
    }
    CHECK(std::isnan(softmax(a, 0).value()(3)));
    CHECK(std::isnan(logsumexp(a).value()()));
}

// ---- losses, driven by the registry -----------------------------------------------

namespace {

// The registry's sample for the loss's first check shape, every input, on `tape`.
template <class T>
InputMap<T> sampled_inputs(Tape<T>& tape, const LossInfo& info, const OptionMap& options,
                           const std::function<void(const std::string&, xt::xarray<T>&)>& edit = {}) {
    const ArrayMap<double> sample = info.sample(options, info.check_shapes.at(0), 0);
    InputMap<T> inputs;
    for (const auto& [name, value] : sample) {
        xt::xarray<T> array = xt::cast<T>(value);
        if (edit) edit(name, array);
        inputs.emplace(name, info.is_differentiable(options, name) ? tape.leaf(std::move(array))
                                                                    : tape.constant(std::move(array)));
    }
    return inputs;
}

// `array` with `size` rows along its first axis (repeating its elements in order).
template <class T>
xt::xarray<T> resized_first_axis(const xt::xarray<T>& array, std::size_t size) {
    Shape shape = array.shape();
    shape[0] = size;
    xt::xarray<T> out = xt::xarray<T>::from_shape(shape);
    for (std::size_t i = 0; i < out.size(); ++i) out.flat(i) = array.flat(i % array.size());
    return out;
}

// The name of the loss's first input: pred, or input1 for CosineEmbeddingLoss.
const std::string& first_input(const LossInfo& info) { return info.inputs.front().name; }

}  // namespace

TEST_CASE_TEMPLATE("bad input: every loss rejects a required input of another batch size, tape unchanged", T, float,
                   double) {
    for (const LossInfo& info : loss_registry()) {
        for (const InputSpec& spec : info.inputs) {
            if (spec.name == first_input(info) && spec.required) continue;
            CAPTURE(info.name);
            CAPTURE(spec.name);
            Tape<T> tape;
            const InputMap<T> inputs = sampled_inputs<T>(tape, info, {}, [&](const std::string& name, xt::xarray<T>& a) {
                if (name == spec.name) a = resized_first_axis(a, a.shape()[0] + 1);
            });
            check_rejected(tape, info.name, [&] { info.apply<T>({}, inputs); });
        }
    }
}

TEST_CASE_TEMPLATE("bad input: every loss rejects batch_axis and axis out of range, tape unchanged", T, float, double) {
    for (const LossInfo& info : loss_registry()) {
        for (const OptionSpec& option : info.options) {
            if (option.name != "batch_axis" && option.name != "axis") continue;
            for (const char* value : {"7", "-7", "9223372036854775807", "-9223372036854775808"}) {
                CAPTURE(info.name);
                CAPTURE(option.name);
                CAPTURE(value);
                Tape<T> tape;
                const OptionMap options = {{option.name, value}};
                const InputMap<T> inputs = sampled_inputs<T>(tape, info, {});
                check_rejected(tape, info.name, [&] { info.apply<T>(options, inputs); });
            }
        }
    }
}

TEST_CASE_TEMPLATE("bad input: every loss with empty inputs (zero batch) gives a result or a clean error", T, float,
                   double) {
    for (const LossInfo& info : loss_registry()) {
        CAPTURE(info.name);
        Tape<T> tape;
        // Every input with a batch axis first (the default layouts) loses its samples.
        const InputMap<T> inputs = sampled_inputs<T>(tape, info, {}, [](const std::string&, xt::xarray<T>& a) {
            if (a.dimension() > 0) a = resized_first_axis(a, 0);
        });
        check_clean(tape, info.name, [&] { tape.backward(sum(info.apply<T>({}, inputs))); });
    }
}

TEST_CASE_TEMPLATE("bad input: every loss with zero classes (an empty last axis) gives a result or a clean error", T,
                   float, double) {
    for (const LossInfo& info : loss_registry()) {
        CAPTURE(info.name);
        Tape<T> tape;
        const std::size_t rank = info.check_shapes.at(0).size();
        const std::size_t classes = info.check_shapes.at(0).back();
        const InputMap<T> inputs = sampled_inputs<T>(tape, info, {}, [&](const std::string&, xt::xarray<T>& a) {
            if (a.dimension() == rank && a.shape().back() == classes) {
                Shape shape = a.shape();
                shape.back() = 0;
                a = xt::xarray<T>::from_shape(shape);
            }
        });
        check_clean(tape, info.name, [&] {
            const Var<T> out = info.apply<T>({}, inputs);
            tape.backward(sum(out));
        });
    }
}

TEST_CASE_TEMPLATE("bad input: every loss lets inf and NaN through forward and backward without an error", T, float,
                   double) {
    const T inf = std::numeric_limits<T>::infinity();
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (const LossInfo& info : loss_registry()) {
        for (T bad : {inf, -inf, nan}) {
            CAPTURE(info.name);
            CAPTURE(bad);
            Tape<T> tape;
            const InputMap<T> inputs = sampled_inputs<T>(tape, info, {}, [&](const std::string& name, xt::xarray<T>& a) {
                if (name == first_input(info)) a.flat(0) = bad;
            });
            const Var<T> out = info.apply<T>({}, inputs);
            CHECK_NOTHROW(tape.backward(sum(out)));
            if (std::isnan(bad)) {
                bool any_nan = false;
                for (T v : out.value()) any_nan = any_nan || std::isnan(v);
                CHECK_MESSAGE(any_nan, "a NaN input vanished from the loss");
            }
        }
    }
}

TEST_CASE_TEMPLATE("bad input: class labels out of range, not whole or NaN", T, float, double) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    const LossInfo& sce = find_loss("SoftmaxCrossEntropyLoss");
    const std::size_t classes = sce.check_shapes.at(0).back();
    for (T bad : {T(classes), T(-1), T(0.5), nan, T(1e30)}) {
        CAPTURE(bad);
        Tape<T> tape;
        const InputMap<T> inputs = sampled_inputs<T>(tape, sce, {}, [&](const std::string& name, xt::xarray<T>& a) {
            if (name == "label") a.flat(0) = bad;
        });
        check_rejected(tape, "SoftmaxCrossEntropyLoss", [&] { sce.apply<T>({}, inputs); });
    }
    const LossInfo& ctc = find_loss("CTCLoss");
    const std::size_t channels = ctc.check_shapes.at(0).back();
    // The blank (C - 1) is no label; -1 pads only at the end, C - 1 and beyond are no class.
    for (T bad : {T(channels - 1), T(channels), T(-2), T(0.5), nan}) {
        CAPTURE(bad);
        Tape<T> tape;
        const InputMap<T> inputs = sampled_inputs<T>(tape, ctc, {}, [&](const std::string& name, xt::xarray<T>& a) {
            if (name == "label") a.flat(0) = bad;
        });
        check_rejected(tape, "CTCLoss", [&] { ctc.apply<T>({}, inputs); });
    }
    for (T bad : {T(-1), T(1e9), nan}) {
        CAPTURE(bad);
        Tape<T> tape;
        const InputMap<T> inputs = sampled_inputs<T>(tape, ctc, {}, [&](const std::string& name, xt::xarray<T>& a) {
            if (name == "pred_lengths") a.flat(0) = bad;
        });
        check_rejected(tape, "CTCLoss", [&] { ctc.apply<T>({}, inputs); });
    }
}

TEST_CASE_TEMPLATE("bad input: CTC with the wrong rank, no channels, T = 0", T, float, double) {
    const LossInfo& ctc = find_loss("CTCLoss");
    {
        Tape<T> tape;
        const InputMap<T> inputs = sampled_inputs<T>(tape, ctc, {}, [](const std::string& name, xt::xarray<T>& a) {
            if (name == "pred") a.reshape({a.shape()[0], a.shape()[1] * a.shape()[2]});
        });
        check_rejected(tape, "CTCLoss", [&] { ctc.apply<T>({}, inputs); });
    }
    {
        Tape<T> tape;
        const InputMap<T> inputs = sampled_inputs<T>(tape, ctc, {}, [](const std::string& name, xt::xarray<T>& a) {
            if (name == "label") a.reshape({a.size()});
        });
        check_rejected(tape, "CTCLoss", [&] { ctc.apply<T>({}, inputs); });
    }
    // T = 0 frames: no label of positive length fits.
    Tape<T> tape;
    InputMap<T> inputs = sampled_inputs<T>(tape, ctc, {});
    const Shape pred_shape = inputs.at("pred").shape();
    inputs.erase("pred_lengths");
    inputs["pred"] = tape.leaf(xt::xarray<T>::from_shape({pred_shape[0], 0, pred_shape[2]}));
    check_rejected(tape, "CTCLoss", [&] { ctc.apply<T>({}, inputs); });
}

TEST_CASE("bad input: .npy files of other dtypes are NpyErrors (std::invalid_argument) naming the dtype") {
    const auto header_for = [](const std::string& descr) {
        std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (1,), }";
        header.append(63 - (10 + header.size()) % 64, ' ');
        header.push_back('\n');
        std::string bytes = "\x93NUMPY\x01";
        bytes.push_back('\0');
        bytes.push_back(static_cast<char>(header.size() & 0xff));
        bytes.push_back(static_cast<char>(header.size() >> 8));
        return bytes + header + std::string(16, '\0');
    };
    for (const std::string descr : {"<i2", "|b1", "|u1", "<c16", "<U3", "<f2", ">f8", "|O", "<u8"}) {
        CAPTURE(descr);
        const std::string bytes = header_for(descr);
        CHECK_THROWS_AS(parse_npy<double>(bytes, "x.npy"), std::invalid_argument);
        CHECK_THROWS_WITH_AS(parse_npy<float>(bytes, "x.npy"), doctest::Contains(descr.c_str()), NpyError);
    }
    std::string valid = header_for("<f8");
    valid.resize(valid.size() - 8);  // one float64
    CHECK_NOTHROW(parse_npy<double>(valid, "x.npy"));
}
