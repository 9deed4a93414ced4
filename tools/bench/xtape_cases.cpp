// xtape's side of a case: the loss from the registry, forward and backward on one tape.
#include "xtape_cases.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include "xtape/ops.hpp"

namespace xtape::bench {

PeerStep xtape_step(const CaseSpec& spec, const InputArrays& inputs) {
    // Shared by the two closures; the tape keeps its node storage across steps.
    struct State {
        Tape<float> tape;
        InputMap<float> vars;
        Var<float> differentiated;
    };
    auto state = std::make_shared<State>();
    // Built once, outside the timed step, as a training loop builds its loss.
    const BoundLoss<float> loss = spec.loss->bind_float({});
    TimedStep step;
    step.prepare = [state, &inputs, grad_input = spec.grad_input] {
        state->vars.clear();
        for (const auto& [name, array] : inputs) {
            const bool wanted = name == grad_input;
            // Copied into the tape's spare storage, as a training loop reuses its
            // batch buffers (torch's side keeps its tensors across steps).
            xt::xarray<float> copy = state->tape.buffer(array.shape());
            std::copy_n(array.data(), array.size(), copy.data());
            state->vars[name] = wanted ? state->tape.leaf(std::move(copy)) : state->tape.constant(std::move(copy));
            if (wanted) state->differentiated = state->vars[name];
        }
    };
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
        const auto& grad = state->tape.grad_of(state->differentiated.index());
        double abs_sum = 0;  // in double, as torch's pairwise sum is about as accurate
        for (const float g : grad) abs_sum += std::abs(g);
        const Checksums result{total.value().flat(0), abs_sum};
        state->tape.clear();
        return result;
    };
    return {std::move(step), checksums};
}

}  // namespace xtape::bench
