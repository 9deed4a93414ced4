// Streaming (non-temporal) stores: writing memory that is written once and not
// read soon without reading each line into the cache first.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace xtape::kernels {

/// Outputs of at least this many bytes are written with streaming stores:
/// they are larger than a core's L2 cache, later work would evict them before
/// anything reads them, and a plain store first reads each line from memory (a
/// third more traffic for a loss whose gradient is as large as its two inputs).
inline constexpr std::size_t streamed_output_bytes = std::size_t(4) << 20;

inline constexpr std::size_t cache_line_bytes = 64;

/// Makes the streaming stores made so far visible before any later store, as
/// other threads see them (they are weakly ordered).
void store_fence();

/// to[0:n] = from[0:n] with streaming stores (arch_stream_copy for the
/// baseline instruction set: a copy waits for memory, not for registers).
/// store_fence() orders them.
void stream_copy(std::size_t n, const float* from, float* to);
void stream_copy(std::size_t n, const double* from, double* to);

/// to[0:n] = from[0:n], the whole cache lines of `to` with streaming stores of
/// the widest registers of instruction set A (the -m flags of the file that
/// instantiates it: a template over A, so that each instruction set's copy has
/// its own name). Plain stores for the partial lines at either end: a
/// streaming store of part of a line is slow, and a neighbour may be writing
/// the rest of it.
template <class A, class T>
[[gnu::always_inline]] inline void arch_stream_copy(std::size_t n, const T* from, T* to) {
    constexpr std::size_t line = cache_line_bytes / sizeof(T);
    const std::size_t misalignment = reinterpret_cast<std::uintptr_t>(to) % cache_line_bytes / sizeof(T);
    const std::size_t head = std::min(n, misalignment == 0 ? 0 : line - misalignment);
    std::copy_n(from, head, to);
    std::size_t i = head;
    for (; i + line <= n; i += line) {
        [[maybe_unused]] constexpr bool single = std::is_same_v<T, float>;
#if defined(__AVX512F__)
        if constexpr (single) _mm512_stream_ps(to + i, _mm512_loadu_ps(from + i));
        else _mm512_stream_pd(to + i, _mm512_loadu_pd(from + i));
#elif defined(__AVX__)
        for (std::size_t j = i; j < i + line; j += 32 / sizeof(T)) {
            if constexpr (single) _mm256_stream_ps(to + j, _mm256_loadu_ps(from + j));
            else _mm256_stream_pd(to + j, _mm256_loadu_pd(from + j));
        }
#elif defined(__SSE2__)
        for (std::size_t j = i; j < i + line; j += 16 / sizeof(T)) {
            if constexpr (single) _mm_stream_ps(to + j, _mm_loadu_ps(from + j));
            else _mm_stream_pd(to + j, _mm_loadu_pd(from + j));
        }
#else
        std::copy_n(from + i, line, to + i);  // no streaming stores known: plain ones
#endif
    }
    std::copy_n(from + i, n - i, to + i);
}

}  // namespace xtape::kernels
