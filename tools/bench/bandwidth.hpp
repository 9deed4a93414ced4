// The machine's copy bandwidth, the denominator of every bandwidth bound.
#pragma once

#include <cstddef>

#include "harness.hpp"

namespace xtape::bench {

/// Bytes per second moved by memcpy between two buffers far larger than the
/// caches, counting the bytes read and the bytes written (2 x the buffer).
double copy_bandwidth(const TimingPolicy& policy, std::size_t buffer_bytes);

}  // namespace xtape::bench
