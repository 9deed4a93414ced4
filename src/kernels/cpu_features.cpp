// The CPU's usable instruction sets, from the compiler's runtime (libgcc or
// compiler-rt), which checks both cpuid and the registers the OS enabled in
// XCR0; xsimd 8's own cpuid reads cpuid alone.
#include "cpu_features.hpp"

namespace xtape::kernels {

CpuFeatures cpu_features() {
#if defined(__x86_64__)
    static const CpuFeatures features = [] {
        __builtin_cpu_init();
        CpuFeatures found;
        found.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        found.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                       __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
        return found;
    }();
    return features;
#else
    return {};
#endif
}

}  // namespace xtape::kernels
