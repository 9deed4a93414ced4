// The exceptions xtape throws for bad input: all derive from std::invalid_argument.
#pragma once

#include <stdexcept>
#include <string>

namespace xtape {

/// Base of every xtape error: the message names the op or loss, the argument,
/// and the shapes or values at fault.
class Error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// Shapes that do not match, broadcast or fit the op (e.g. "add: argument b of
/// shape (2, 3) does not broadcast with a of shape (4, 3)").
class ShapeError : public Error {
public:
    using Error::Error;
};

/// A value outside the domain an op or loss accepts (a label out of range, an
/// unknown option, a negative length).
class ValueError : public Error {
public:
    using Error::Error;
};

/// A .npy file that cannot be read or is malformed; the message names the file.
class NpyError : public ValueError {
public:
    using ValueError::ValueError;
};

/// A `Var` used after its tape was cleared, or combined with a `Var` of another tape.
class TapeError : public Error {
public:
    using Error::Error;
};

}  // namespace xtape
