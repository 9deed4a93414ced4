// The machine's copy bandwidth, the denominator of every bandwidth bound.
#pragma once

#include <cstddef>
#include <vector>

#include "harness.hpp"

namespace xtape::bench {

/// A memcpy between two buffers far larger than the caches, as a timed step.
class CopyProbe {
public:
    explicit CopyProbe(std::size_t buffer_bytes);

    /// One copy of the whole buffer (the probe must outlive the step).
    TimedStep step();

    /// `step` with its preparation followed by a read of the whole buffer,
    /// which evicts what the preparation left in the caches: its run finds its
    /// inputs in memory whether the preparation wrote them (xtape's copies
    /// them into the tape) or not (torch's keeps its tensors).
    TimedStep cold(TimedStep step);

    /// Bytes per second if one copy takes `seconds`, counting the bytes read and
    /// the bytes written (2 x the buffer).
    double bandwidth(double seconds) const;

private:
    std::vector<char> source_;
    std::vector<char> destination_;
};

}  // namespace xtape::bench
