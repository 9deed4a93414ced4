// The execution layer under the losses (xtape/execution.hpp): every registered
// loss gives the same values and gradients fused, in chunks and as plain
// primitives, and a NaN goes the same way in each.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>

#include "xtape/xtape.hpp"

#include "support/registry_walk.hpp"

using namespace xtape;

namespace {

// The loss's value and the gradients of its differentiable inputs, run as `execution`
// says (in chunks of one sample for Execution::chunked).
template <class T>
std::vector<xt::xarray<T>> run(Execution execution, const LossInfo& info, const OptionMap& options,
                               const ArrayMap<double>& inputs, const std::vector<std::string>& names) {
    const ExecutionScope scope(execution);
    const LossChunkingScope one_sample_per_chunk(1);
    Tape<T> tape;
    std::vector<Var<T>> leaves;
    for (const auto& name : names) leaves.push_back(tape.leaf(xt::cast<T>(inputs.at(name))));
    const Var<T> loss = test::apply_on<T>(tape, info, options, inputs, names, leaves);
    tape.backward(sum(loss));
    std::vector<xt::xarray<T>> out = {loss.value()};
    for (const auto& leaf : leaves) out.push_back(leaf.grad());
    return out;
}

}  // namespace

TEST_CASE_TEMPLATE("every registered loss: the same values and gradients fused, in chunks and as plain primitives",
                   T, float, double) {
    // The executions differ only in how they add and when they round (a fused
    // pass contracts a multiply-add, a weight scales before or after a mean).
    const double tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-12;
    std::size_t compared = 0;
    for (const LossInfo& info : loss_registry()) {
        for (const OptionMap& options : test::option_grid(info)) {
            for (const Shape& shape : info.check_shapes) {
                const ArrayMap<double> inputs = info.sample(options, shape, 23);
                std::vector<std::string> names;
                for (const auto& [name, value] : inputs) {
                    if (info.is_differentiable(options, name)) names.push_back(name);
                }
                const auto eager = run<T>(Execution::eager, info, options, inputs, names);
                for (const Execution execution : {Execution::automatic, Execution::chunked}) {
                    const auto other = run<T>(execution, info, options, inputs, names);
                    INFO(info.repr(options), " shape ", to_string(shape), " execution ",
                         execution == Execution::automatic ? "automatic" : "chunked");
                    REQUIRE(other.size() == eager.size());
                    for (std::size_t k = 0; k < eager.size(); ++k) {
                        INFO((k == 0 ? std::string("value") : "gradient of " + names[k - 1]));
                        REQUIRE(other[k].shape() == eager[k].shape());
                        CHECK(xt::allclose(other[k], eager[k], tolerance, tolerance));
                    }
                }
                ++compared;
            }
        }
    }
    CHECK(compared > 100);
}

TEST_CASE("a NaN in a sample goes the same way in every execution, as in torch") {
    // SoftmaxCE: a row holding a NaN has a NaN loss and a whole row of NaN
    // gradient (its softmax is NaN); the other row stays finite.
    for (const Execution execution : {Execution::automatic, Execution::eager, Execution::chunked}) {
        CAPTURE(static_cast<int>(execution));
        const ExecutionScope scope(execution);
        const LossChunkingScope one_sample_per_chunk(1);
        Tape<double> tape;
        const double nan = std::numeric_limits<double>::quiet_NaN();
        const auto pred = tape.leaf(xt::xarray<double>{{0.1, 0.2, 0.3, nan, 0.5}, {0.1, 0.2, 0.3, 0.4, 0.5}});
        const auto label = tape.constant(xt::xarray<double>{0, 2});
        const Var<double> loss = SoftmaxCrossEntropyLoss<double>()(pred, label);
        tape.backward(sum(loss));
        CHECK(std::isnan(loss.value()(0)));
        CHECK(std::isfinite(loss.value()(1)));
        for (std::size_t j = 0; j < 5; ++j) {
            CAPTURE(j);
            CHECK(std::isnan(pred.grad()(0, j)));
            CHECK(std::isfinite(pred.grad()(1, j)));
        }
    }
    // An elementwise loss: NaN in the sample's loss and at the element's gradient alone.
    for (const Execution execution : {Execution::automatic, Execution::eager, Execution::chunked}) {
        CAPTURE(static_cast<int>(execution));
        const ExecutionScope scope(execution);
        const LossChunkingScope one_sample_per_chunk(1);
        Tape<double> tape;
        const auto pred = tape.leaf(xt::xarray<double>{{1.0, std::numeric_limits<double>::quiet_NaN()}, {1.0, 2.0}});
        const auto label = tape.constant(xt::xarray<double>{{0.5, 0.5}, {0.5, 0.5}});
        const Var<double> loss = HuberLoss<double>()(pred, label);
        tape.backward(sum(loss));
        CHECK(std::isnan(loss.value()(0)));
        CHECK(std::isfinite(loss.value()(1)));
        CHECK(std::isfinite(pred.grad()(0, 0)));
        CHECK(std::isnan(pred.grad()(0, 1)));
        CHECK(xt::all(xt::isfinite(xt::view(pred.grad(), 1))));
    }
}

TEST_CASE("automatic execution records a per-element loss as one fused node, eager as plain primitives") {
    Tape<float> tape;
    const auto pred = tape.leaf(xt::xarray<float>{{1, 2, 3}, {4, 5, 6}});
    const auto label = tape.constant(xt::xarray<float>{{1, 1, 1}, {2, 2, 2}});
    const HuberLoss<float> huber;
    CHECK(std::string(huber(pred, label).op()) == "fuse_mean");
    const std::size_t before = tape.size();
    {
        const ExecutionScope eager(Execution::eager);
        const Var<float> loss = huber(pred, label);
        CHECK(std::string(loss.op()) == "mean");
        // sub, smooth_l1, mean: every primitive of the formula is a node of its own.
        CHECK(tape.size() - before == 3);
        CHECK(std::string(tape.op_of(static_cast<std::uint32_t>(before) + 1)) == "smooth_l1");
    }
    CHECK(current_execution() == Execution::automatic);
}
