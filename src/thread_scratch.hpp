// A vector whose room is kept per thread from one use to the next.
#pragma once

#include <utility>
#include <vector>

namespace xtape::detail {

/// An empty vector taken from the calling thread's store for the life of this
/// object and given back (emptied, its capacity kept) when it ends: code that
/// runs at every training step gets its room back without allocating. A
/// nested user on the same thread finds the store empty and grows a vector of
/// its own; the larger one is kept. For elements that xt::svector cannot hold
/// (it destroys its whole capacity, constructed or not, once it has grown).
template <class X>
class ScratchVector {
public:
    ScratchVector() : items_(std::exchange(store(), {})) { items_.clear(); }
    ~ScratchVector() {
        items_.clear();
        if (items_.capacity() > store().capacity()) store() = std::move(items_);
    }
    ScratchVector(const ScratchVector&) = delete;
    ScratchVector& operator=(const ScratchVector&) = delete;

    std::vector<X>& operator*() { return items_; }
    std::vector<X>* operator->() { return &items_; }

private:
    static std::vector<X>& store() {
        thread_local std::vector<X> stored;
        return stored;
    }
    std::vector<X> items_;
};

}  // namespace xtape::detail
