// xtape's side of a case: the loss from the registry, forward and backward on one tape.
#include "xtape_cases.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "xtape/derivatives.hpp"
#include "xtape/ops.hpp"

namespace xtape::bench {

namespace {

/// Shared by a step's closures; the tape keeps its node storage across steps.
struct State {
    Tape<float> tape;
    InputMap<float> vars;
    Var<float> differentiated;
    Var<float> direction;  // an hvp step's v
};

/// `array` copied into the tape's spare storage, as a training loop reuses its
/// batch buffers (torch's side keeps its tensors across steps).
xt::xarray<float> tape_copy(Tape<float>& tape, const xt::xarray<float>& array) {
    xt::xarray<float> copy = tape.buffer(array.shape());
    std::copy_n(array.data(), array.size(), copy.data());
    return copy;
}

/// The untimed preparation of a step: the inputs (and v, if given) on the cleared tape.
std::function<void()> preparation(std::shared_ptr<State> state, const InputArrays& inputs, std::string grad_input,
                                  const xt::xarray<float>* direction) {
    return [state, &inputs, grad_input = std::move(grad_input), direction] {
        state->vars.clear();
        for (const auto& [name, array] : inputs) {
            const bool wanted = name == grad_input;
            xt::xarray<float> copy = tape_copy(state->tape, array);
            state->vars[name] = wanted ? state->tape.leaf(std::move(copy)) : state->tape.constant(std::move(copy));
            if (wanted) state->differentiated = state->vars[name];
        }
        if (direction) state->direction = state->tape.constant(tape_copy(state->tape, *direction));
    };
}

/// The sum of |a|, in double, as torch's pairwise sum is about as accurate.
double abs_sum(const xt::xarray<float>& a) {
    double sum = 0;
    for (const float x : a) sum += std::abs(x);
    return sum;
}

}  // namespace

PeerStep xtape_step(const CaseSpec& spec, const InputArrays& inputs) {
    auto state = std::make_shared<State>();
    // Built once, outside the timed step, as a training loop builds its loss.
    const BoundLoss<float> loss = spec.loss->bind_float({});
    TimedStep step;
    step.prepare = preparation(state, inputs, spec.grad_input, nullptr);
    step.run = [state, loss] {
        const Var<float> out = loss(state->vars);
        state->tape.backward(sum(out));
        keep(state->tape.grad_of(state->differentiated.index()).data());
        state->tape.clear();
    };
    const auto checksums = [state, loss, prepare = step.prepare] {
        prepare();
        const Var<float> total = sum(loss(state->vars));
        state->tape.backward(total);
        const Checksums result{total.value().flat(0), abs_sum(state->tape.grad_of(state->differentiated.index()))};
        state->tape.clear();
        return result;
    };
    return {std::move(step), checksums};
}

PeerStep xtape_hvp_step(const CaseSpec& spec, const InputArrays& inputs, const xt::xarray<float>& direction) {
    auto state = std::make_shared<State>();
    const BoundLoss<float> loss = spec.loss->bind_float({});
    // f and H v (the gradient of <grad f, v>, one pass over g and v as torch's dot), both on the tape.
    const auto hvp = [state, loss] {
        const Var<float> total = sum(loss(state->vars));
        const Var<float> g = grad(total, {state->differentiated}, {.create_graph = true}).front();
        return std::pair{total, grad(dot(g, state->direction), {state->differentiated}).front()};
    };
    TimedStep step;
    step.prepare = preparation(state, inputs, spec.grad_input, &direction);
    step.run = [state, hvp] {
        keep(hvp().second.value().data());
        state->tape.clear();
    };
    const auto checksums = [state, hvp, prepare = step.prepare] {
        prepare();
        const auto [total, hv] = hvp();
        const Checksums result{total.value().flat(0), abs_sum(hv.value())};
        state->tape.clear();
        return result;
    };
    return {std::move(step), checksums};
}

}  // namespace xtape::bench
