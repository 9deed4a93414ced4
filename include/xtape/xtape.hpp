// The umbrella header: the tape, the primitive ops and gradient checking.
#pragma once

#include "xtape/chunked.hpp"
#include "xtape/derivatives.hpp"
#include "xtape/errors.hpp"
#include "xtape/execution.hpp"
#include "xtape/fuse.hpp"
#include "xtape/gradcheck.hpp"
#include "xtape/instruction_set.hpp"
#include "xtape/losses.hpp"
#include "xtape/ops.hpp"
#include "xtape/shape.hpp"
#include "xtape/tape.hpp"
#include "xtape/threads.hpp"
