// Parameters: named arrays that live across training steps, outside the tape.
#include "xtape/nn/parameter.hpp"

#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/shape.hpp"

namespace xtape {

template <class T>
Parameter<T>::Parameter(std::string name, xt::xarray<T> value)
    : state_(std::make_shared<State>(State{std::move(name), std::move(value), {}, nullptr, 0})) {
    if (state_->name.empty()) throw ValueError("Parameter: argument name must not be empty");
}

template <class T>
void Parameter<T>::assign(xt::xarray<T> value) {
    if (value.shape() != state_->value.shape()) {
        throw ShapeError(fmt::format("Parameter '{}': cannot assign a value of shape {} to shape {}", name(),
                                     to_string(value.shape()), to_string(state_->value.shape())));
    }
    state_->value = std::move(value);
}

template <class T>
bool Parameter<T>::entered_on(const Tape<T>& tape) const {
    const State& s = *state_;
    if (s.tape != &tape || s.epoch != tape.epoch() || s.leaf.index() >= tape.size()) return false;
    // A new tape at a dead one's address starts at the same epoch, so the node
    // must also be a leaf holding this value (compared bitwise: NaN matches
    // itself). The comparison costs what making a new leaf would cost.
    const std::uint32_t index = s.leaf.index();
    const xt::xarray<T>& stored = tape.value_of(index);
    return std::string_view(tape.op_of(index)) == "leaf" && stored.shape() == s.value.shape() &&
           (s.value.size() == 0 || std::memcmp(stored.data(), s.value.data(), s.value.size() * sizeof(T)) == 0);
}

template <class T>
Var<T> Parameter<T>::var(Tape<T>& tape) const {
    if (!entered_on(tape)) {
        state_->leaf = tape.leaf(state_->value);
        state_->tape = &tape;
        state_->epoch = tape.epoch();
    }
    return state_->leaf;
}

template <class T>
xt::xarray<T> Parameter<T>::grad(const Tape<T>& tape) const {
    if (const xt::xarray<T>* gradient = find_grad(tape)) return *gradient;
    return xt::zeros<T>(state_->value.shape());
}

template <class T>
const xt::xarray<T>* Parameter<T>::find_grad(const Tape<T>& tape) const {
    if (!entered_on(tape) || !tape.has_grad_of(state_->leaf.index())) return nullptr;
    return &tape.grad_of(state_->leaf.index());
}

template class Parameter<float>;
template class Parameter<double>;

}  // namespace xtape
