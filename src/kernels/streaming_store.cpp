// Streaming stores for the library's baseline code, and the fence that orders them.
#include "streaming_store.hpp"

#include <xsimd/xsimd.hpp>

namespace xtape::kernels {

void stream_copy(std::size_t n, const float* from, float* to) { arch_stream_copy<xsimd::default_arch>(n, from, to); }

void stream_copy(std::size_t n, const double* from, double* to) { arch_stream_copy<xsimd::default_arch>(n, from, to); }

void store_fence() {
#if defined(__SSE2__)
    _mm_sfence();
#endif
}

}  // namespace xtape::kernels
