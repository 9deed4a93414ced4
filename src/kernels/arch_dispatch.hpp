// Choosing, at run time, the widest instruction set the per-architecture kernels were built for.
#pragma once

#include <xsimd/xsimd.hpp>

#include "cpu_features.hpp"

namespace xtape::kernels {

#if defined(__x86_64__)

/// run(arch) with the xsimd architecture tag of the widest instruction set
/// this CPU runs among those the kernels are compiled for (meson's
/// xtape_kernel_archs). AVX-512 means F, CD, DQ and BW (Skylake-X and later):
/// xsimd 8's avx512bw kernels use DQ instructions.
template <class Run>
void on_best_arch(Run run) {
    const CpuFeatures cpu = cpu_features();
    if (cpu.avx512) return run(xsimd::avx512bw{});
    if (cpu.avx2_fma) return run(xsimd::fma3<xsimd::avx2>{});
    return run(xsimd::sse2{});
}

#else

/// Other hosts build the kernels once, for the build's instruction set.
template <class Run>
void on_best_arch(Run run) {
    run(xsimd::default_arch{});
}

#endif

}  // namespace xtape::kernels
