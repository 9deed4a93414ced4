// Small helpers every op uses to find its tape and check its arguments.
#pragma once

#include <fmt/format.h>

#include "xtape/tape.hpp"

namespace xtape::detail {

/// The tape of `a`, after checking that `a` is live.
template <class T>
Tape<T>& tape_of(const Var<T>& a, const char* op) {
    Tape<T>& tape = a.tape();
    tape.check(a, op);
    return tape;
}

/// The common tape of `a` and `b`; throws TapeError naming `op` when they differ.
template <class T>
Tape<T>& tape_of(const Var<T>& a, const Var<T>& b, const char* op) {
    Tape<T>& tape = tape_of(a, op);
    if (&b.tape() != &tape) {
        throw TapeError(fmt::format("{}: arguments belong to two different tapes", op));
    }
    tape.check(b, op);
    return tape;
}

}  // namespace xtape::detail
