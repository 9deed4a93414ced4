// The tape's own cost: nanoseconds per recorded op on a long chain of tiny ops.
#pragma once

#include <cstddef>

#include "harness.hpp"

namespace xtape::bench {

/// The median time of recording `ops` alternating add and mul nodes of
/// 1-element arrays on one tape, the backward sweep over them and the clear,
/// divided by `ops`: what a node costs beyond its arithmetic.
double tape_overhead_ns(const TimingPolicy& policy, std::size_t ops = 10000);

}  // namespace xtape::bench
