// The machine's copy bandwidth, the denominator of every bandwidth bound.
#include "bandwidth.hpp"

#include <cstring>
#include <vector>

namespace xtape::bench {

double copy_bandwidth(const TimingPolicy& policy, std::size_t buffer_bytes) {
    // Filled, so that every page is mapped before the clock starts.
    std::vector<char> source(buffer_bytes, 1);
    std::vector<char> destination(buffer_bytes, 0);
    TimedStep step;
    step.run = [&] {
        std::memcpy(destination.data(), source.data(), buffer_bytes);
        keep(destination.data());
    };
    return 2.0 * static_cast<double>(buffer_bytes) / median_seconds(step, policy);
}

}  // namespace xtape::bench
