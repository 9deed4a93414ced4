// Streaming stores: the fence that orders them.
#include "streaming_store.hpp"

namespace xtape::kernels {

void store_fence() {
#if defined(__SSE2__)
    _mm_sfence();
#endif
}

}  // namespace xtape::kernels
