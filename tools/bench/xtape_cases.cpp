// xtape's side of a case: the loss from the registry, forward and backward on one tape.
#include "xtape_cases.hpp"

#include <memory>

#include "xtape/ops.hpp"

namespace xtape::bench {

TimedStep xtape_step(const CaseSpec& spec, const InputArrays& inputs) {
    // Shared by the two closures; the tape keeps its node storage across steps.
    struct State {
        Tape<float> tape;
        InputMap<float> vars;
        Var<float> differentiated;
    };
    auto state = std::make_shared<State>();
    const LossInfo& loss = *spec.loss;
    TimedStep step;
    step.prepare = [state, &inputs, grad_input = spec.grad_input] {
        state->vars.clear();
        for (const auto& [name, array] : inputs) {
            const bool wanted = name == grad_input;
            state->vars[name] = wanted ? state->tape.leaf(array) : state->tape.constant(array);
            if (wanted) state->differentiated = state->vars[name];
        }
    };
    step.run = [state, &loss] {
        const Var<float> out = loss.apply_float({}, state->vars);
        state->tape.backward(sum(out));
        keep(state->tape.grad_of(state->differentiated.index()).data());
        state->tape.clear();
    };
    return step;
}

}  // namespace xtape::bench
