// Parameters: named arrays that live across training steps, outside the tape.
#include "xtape/nn/parameter.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/shape.hpp"

namespace xtape {

template <class T>
Parameter<T>::Parameter(std::string name, xt::xarray<T> value)
    : state_(std::make_shared<State>(std::move(name), std::move(value))) {
    if (state_->name.empty()) throw ValueError("Parameter: argument name must not be empty");
}

template <class T>
void Parameter<T>::assign(xt::xarray<T> value) {
    if (value.shape() != shape()) {
        throw ShapeError(fmt::format("Parameter '{}': cannot assign a value of shape {} to shape {}", name(),
                                     to_string(value.shape()), to_string(shape())));
    }
    state_->value.get() = std::move(value);
}

template <class T>
Var<T> Parameter<T>::var(Tape<T>& tape) const {
    Lendable<T>& value = state_->value;
    if (value.borrower() == &tape) return value.leaf();
    if (value.borrower() != nullptr && !tape.grad_enabled()) return tape.leaf(value.get());
    value.reclaim();
    return tape.borrow(value);
}

template <class T>
xt::xarray<T>& Parameter<T>::grad() const {
    xt::xarray<T>* gradient = state_->value.grad();
    if (gradient == nullptr) {
        throw TapeError(fmt::format("Parameter '{}': no gradient ({})", name(),
                                    tape() == nullptr ? "it has not entered a tape since that tape was cleared"
                                                      : "backward has not reached its leaf"));
    }
    return *gradient;
}

template class Parameter<float>;
template class Parameter<double>;

}  // namespace xtape
