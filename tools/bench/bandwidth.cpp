// The machine's copy bandwidth, the denominator of every bandwidth bound.
#include "bandwidth.hpp"

#include <cstring>

namespace xtape::bench {

// Filled, so that every page is mapped before the clock starts.
CopyProbe::CopyProbe(std::size_t buffer_bytes) : source_(buffer_bytes, 1), destination_(buffer_bytes, 0) {}

TimedStep CopyProbe::step() {
    TimedStep step;
    step.run = [this] {
        std::memcpy(destination_.data(), source_.data(), source_.size());
        keep(destination_.data());
    };
    return step;
}

TimedStep CopyProbe::cold(TimedStep step) {
    step.prepare = [this, prepare = std::move(step.prepare)] {
        if (prepare) prepare();
        unsigned sum = 0;
        for (std::size_t i = 0; i < source_.size(); i += 64) sum += static_cast<unsigned char>(source_[i]);
        keep(&sum);
    };
    return step;
}

double CopyProbe::bandwidth(double seconds) const { return 2.0 * static_cast<double>(source_.size()) / seconds; }

}  // namespace xtape::bench
