// A growable list whose elements never move: the tape's node storage.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace xtape::detail {

/// Elements in fixed blocks of 2^block_bits, all default-constructed when
/// their block is added. Indexing is a shift and a mask, and growing never
/// moves an element, so references stay valid while the list grows. (A
/// std::deque of elements as large as a tape node holds one per block and
/// divides on every access.)
template <class X, std::size_t block_bits = 5>
class BlockList {
public:
    X& operator[](std::size_t i) { return blocks_[i >> block_bits][i & mask]; }
    const X& operator[](std::size_t i) const { return blocks_[i >> block_bits][i & mask]; }
    /// The number of elements, constructed and ready for reuse.
    std::size_t capacity() const { return blocks_.size() << block_bits; }
    /// Adds a block of default-constructed elements.
    void grow() { blocks_.push_back(std::make_unique<X[]>(std::size_t{1} << block_bits)); }

private:
    static constexpr std::size_t mask = (std::size_t{1} << block_bits) - 1;
    std::vector<std::unique_ptr<X[]>> blocks_;
};

}  // namespace xtape::detail
