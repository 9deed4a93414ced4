// Parameters: named arrays that live across training steps, outside the tape.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <xtensor/xarray.hpp>

#include "xtape/tape.hpp"

namespace xtape {

/// A trainable array with a name ("mlp.0.weight"). The tape is cleared after
/// every optimizer step, so a parameter keeps its value here and enters the
/// tape anew each step as a leaf (`var`); after `backward` the optimizer reads
/// that leaf's gradient (`grad`) and updates the value.
///
/// Parameter is a handle, like a Gluon Parameter: copies share one value, so a
/// layer, its model and an optimizer can each hold the same parameter.
///
/// The leaf of the current step is recognised by the tape's address and epoch
/// and by holding the parameter's value: a tape destroyed and another made at
/// the same address (tapes on the stack in a loop) is not mistaken for it.
template <class T>
class Parameter {
public:
    /// Throws ValueError when `name` is empty.
    Parameter(std::string name, xt::xarray<T> value);

    /// The name given at construction.
    const std::string& name() const { return state_->name; }
    /// The value's shape.
    const Shape& shape() const { return state_->value.shape(); }
    /// The current value (shared by every copy of this handle).
    const xt::xarray<T>& value() const { return state_->value; }
    /// The value, for updates; a new value must keep the shape (see `assign`).
    xt::xarray<T>& value() { return state_->value; }
    /// Replaces the value; throws ShapeError naming the parameter when the
    /// shape differs.
    void assign(xt::xarray<T> value);

    /// This step's leaf on `tape`: made (a copy of the value) on the first call
    /// after the tape was cleared, and the same leaf on later calls in the step,
    /// so a parameter used twice (a shared encoder) gets both contributions.
    Var<T> var(Tape<T>& tape = current_tape<T>()) const;

    /// The gradient that backward sent to this step's leaf on `tape`; zeros of
    /// the value's shape when the parameter did not enter this step or no
    /// gradient reached it. Read it before the tape is cleared.
    xt::xarray<T> grad(const Tape<T>& tape = current_tape<T>()) const;
    /// The same gradient without a copy (valid until the tape is cleared), or
    /// nullptr where grad() gives zeros: for code that reads every step's
    /// gradients into a buffer of its own (distributed::GradientAverager).
    const xt::xarray<T>* find_grad(const Tape<T>& tape = current_tape<T>()) const;

private:
    struct State {
        std::string name;
        xt::xarray<T> value;
        // The leaf of the current step and the tape and epoch it belongs to.
        Var<T> leaf;
        const Tape<T>* tape = nullptr;
        std::uint32_t epoch = 0;
    };
    // Whether this step's leaf lives on `tape`. Looks only at the given tape,
    // never at a remembered one, which may be gone.
    bool entered_on(const Tape<T>& tape) const;

    std::shared_ptr<State> state_;
};

}  // namespace xtape
