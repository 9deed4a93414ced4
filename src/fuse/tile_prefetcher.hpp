// Fetching the memory of the next tile into the cache while the current one computes.
#pragma once

#include <cstddef>

#include <xtensor/xstorage.hpp>

namespace xtape::detail {

/// A tile's passes run in the L1 cache, but the first pass over each input
/// waits for memory: a tile is the size of a page (4 KB of float), and the
/// hardware prefetchers stop at page boundaries. The tile program therefore
/// fetches the next tile's inputs and gradients itself, a share before each of
/// its passes over the current tile, so that memory and arithmetic overlap.
/// (All at once, the requests queue up and stall the pass behind them.)
class TilePrefetcher {
public:
    /// Forgets the ranges not yet fetched.
    void clear() {
        ranges_.clear();
        requests_ = 0;
    }

    /// Adds `bytes` at `begin`, to be read or (for_writing) written soon.
    void add(const void* begin, std::size_t bytes, bool for_writing) {
        if (begin == nullptr || bytes == 0) return;
        const char* first = static_cast<const char*>(begin);
        ranges_.push_back({first, first + bytes, for_writing});
        requests_ += (bytes + stride - 1) / stride;
    }

    /// Shares the requests added so far out over `passes` calls of step().
    void spread_over(std::size_t passes) { per_step_ = passes == 0 ? 0 : (requests_ + passes - 1) / passes; }

    /// The requests added and not issued yet.
    std::size_t requests_left() const {
        std::size_t left = 0;
        for (const Range& range : ranges_) left += static_cast<std::size_t>(range.end - range.next + stride - 1) / stride;
        return left;
    }

    /// Issues the next share of the requests.
    void step() {
        std::size_t budget = per_step_;
        for (Range& range : ranges_) {
            if (budget == 0) return;
            const std::size_t left = static_cast<std::size_t>(range.end - range.next + stride - 1) / stride;
            const std::size_t count = left < budget ? left : budget;
            if (range.for_writing) {
                for (std::size_t i = 0; i < count; ++i) __builtin_prefetch(range.next + i * stride, 1, 3);
            } else {
                for (std::size_t i = 0; i < count; ++i) __builtin_prefetch(range.next + i * stride, 0, 3);
            }
            range.next += count * stride;
            budget -= count;
        }
    }

private:
    // One request per cache line: one per two, counting on the L2 cache to
    // fetch each line's 128-byte neighbour with it, was slower with the inputs
    // in memory (docs/performance.md).
    static constexpr std::size_t stride = 64;
    struct Range {
        const char* next;
        const char* end;
        bool for_writing;
    };
    xt::svector<Range, 8> ranges_;  // inline for a program's few arrays: a tile program allocates none
    std::size_t requests_ = 0;
    std::size_t per_step_ = 0;
};

}  // namespace xtape::detail
