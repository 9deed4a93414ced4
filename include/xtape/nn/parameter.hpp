// Parameters: named arrays that live across training steps, outside the tape.
#pragma once

#include <memory>
#include <string>

#include <xtensor/xarray.hpp>

#include "xtape/tape.hpp"

namespace xtape {

/// A trainable array with a name ("mlp.0.weight"). The tape is cleared after
/// every step, so a parameter keeps its value here and enters the tape anew
/// each step as a leaf (`var`); after `backward` the optimizer reads that
/// leaf's gradient (`grad`) and updates the value.
///
/// The value enters the tape without a copy: the tape borrows the array
/// (Tape::borrow) and its clear() or destruction gives it back. So a parameter
/// always knows the tape it is on, and its gradient is found there whichever
/// tape the step recorded on. While it is lent, value() is the leaf's value
/// itself: an optimizer step updates both.
///
/// Parameter is a handle, like a Gluon Parameter: copies share one value, so a
/// layer, its model and an optimizer can each hold the same parameter.
template <class T>
class Parameter {
public:
    /// Throws ValueError when `name` is empty.
    Parameter(std::string name, xt::xarray<T> value);

    /// The name given at construction.
    const std::string& name() const { return state_->name; }
    /// The value's shape.
    const Shape& shape() const { return value().shape(); }
    /// The current value (shared by every copy of this handle). The array
    /// object moves into a tape and back with the parameter (its elements do
    /// not): call value() again rather than keep the reference across var()
    /// or the tape's clear().
    const xt::xarray<T>& value() const { return state_->value.get(); }
    /// The value, for updates; a new value must keep the shape (see `assign`).
    xt::xarray<T>& value() { return state_->value.get(); }
    /// Replaces the value; throws ShapeError naming the parameter when the
    /// shape differs.
    void assign(xt::xarray<T> value);

    /// This step's leaf on `tape`. The first call after the tape was cleared
    /// lends the value to it (no copy), and later calls in the step return the
    /// same leaf, so a parameter used twice (a shared encoder) gets both
    /// contributions. A parameter moves to the tape it last entered with
    /// gradients enabled (the tape it was on keeps a copy). On a tape with
    /// gradients disabled (NoGradGuard, as `predict` does) while it is on
    /// another tape, the leaf is a copy and the parameter stays where it is.
    Var<T> var(Tape<T>& tape) const;

    /// The tape holding this step's leaf, or nullptr when the parameter has
    /// not entered a tape since that tape was cleared.
    Tape<T>* tape() const { return state_->value.borrower(); }
    /// True when a backward sweep sent a gradient to this step's leaf.
    bool has_grad() const { return state_->value.grad() != nullptr; }
    /// That gradient, on the tape (no copy): updates to it (clipping) are what
    /// the optimizer sees. Throws TapeError naming the parameter when there is
    /// none (see has_grad).
    xt::xarray<T>& grad() const;

private:
    struct State {
        State(std::string n, xt::xarray<T> v) : name(std::move(n)), value(std::move(v)) {}
        std::string name;
        Lendable<T> value;
    };

    std::shared_ptr<State> state_;
};

}  // namespace xtape
