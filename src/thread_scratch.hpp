// A vector whose room is kept per thread from one use to the next.
#pragma once

#include <type_traits>
#include <utility>
#include <vector>

namespace xtape::detail {

/// A vector taken from the calling thread's store for the life of this
/// object and given back when it ends (the larger one is kept): code that
/// runs at every training step gets its room back without allocating. A
/// nested user on the same thread finds the store empty and grows a vector of
/// its own. Elements of a trivial type are left as the last user left them
/// (so that scratch tiles are not zeroed again); others are destroyed when
/// given back, so a user always finds such a vector empty. It also holds
/// elements that xt::svector cannot (that one destroys its whole capacity,
/// constructed or not, once it has grown).
template <class X>
class ScratchVector {
public:
    ScratchVector() : items_(std::exchange(store(), {})) {}
    ~ScratchVector() {
        if constexpr (!std::is_trivially_destructible_v<X>) items_.clear();
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
