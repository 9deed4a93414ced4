// Storage for the closures a tape's nodes keep until the tape is cleared.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace xtape::detail {

/// Objects constructed one after another in blocks of memory, all destroyed at
/// once by clear(), which keeps the blocks: a tape's backward functions with
/// their captured state. A std::function holds a closure larger than two
/// pointers on the heap, one allocation per recorded node; a closure here and
/// a std::function holding a pointer to it cost none once a step of the same
/// ops has filled the blocks.
class ClosureArena {
public:
    ClosureArena() = default;
    ClosureArena(const ClosureArena&) = delete;
    ClosureArena& operator=(const ClosureArena&) = delete;
    ~ClosureArena() { clear(); }

    /// A copy of `object` (moved when given an rvalue) that lives until clear().
    template <class F>
    std::remove_cvref_t<F>* make(F&& object) {
        using C = std::remove_cvref_t<F>;
        static_assert(alignof(C) <= alignof(std::max_align_t), "over-aligned closure");
        void* at = allocate(sizeof(C));
        if constexpr (std::is_trivially_destructible_v<C>) {
            return ::new (at) C(std::forward<F>(object));
        } else {
            destructors_.push_back({at, [](void* p) { static_cast<C*>(p)->~C(); }});
            try {
                return ::new (at) C(std::forward<F>(object));
            } catch (...) {
                destructors_.pop_back();
                throw;
            }
        }
    }

    /// Destroys every object, the last made first, and keeps the memory for the next ones.
    void clear() {
        for (auto it = destructors_.rbegin(); it != destructors_.rend(); ++it) it->destroy(it->object);
        destructors_.clear();
        block_ = 0;
        used_ = 0;
    }

private:
    static constexpr std::size_t block_bytes = 64 * 1024;
    static constexpr std::size_t alignment = alignof(std::max_align_t);

    // `size` bytes at the max_align_t alignment: from the current block, the
    // next one kept from an earlier step, or a new one.
    void* allocate(std::size_t size) {
        const std::size_t rounded = (size + alignment - 1) / alignment * alignment;
        for (; block_ < blocks_.size(); ++block_, used_ = 0) {
            Block& block = blocks_[block_];
            if (used_ + rounded <= block.size) {
                void* at = block.bytes.get() + used_;
                used_ += rounded;
                return at;
            }
        }
        const std::size_t size_of_block = std::max(block_bytes, rounded);
        blocks_.push_back({std::unique_ptr<std::byte[]>(new std::byte[size_of_block]), size_of_block});
        used_ = rounded;
        return blocks_.back().bytes.get();
    }

    struct Block {
        std::unique_ptr<std::byte[]> bytes;  // new[] aligns to max_align_t at least
        std::size_t size;
    };
    struct Destructor {
        void* object;
        void (*destroy)(void*);
    };
    std::vector<Block> blocks_;
    std::size_t block_ = 0;  // the block being filled
    std::size_t used_ = 0;   // bytes of it in use
    std::vector<Destructor> destructors_;
};

}  // namespace xtape::detail
