// The instruction sets beyond SSE2 that the kernels are compiled for, as this
// machine can run them.
#pragma once

namespace xtape::kernels {

/// Each flag is true when the CPU has the instructions and the operating system
/// saves their registers across context switches (XCR0), so that using them
/// cannot fault: a CPU's cpuid alone says AVX-512 on virtual machines whose
/// kernel has it turned off.
struct CpuFeatures {
    bool avx2_fma = false;  ///< AVX2 and FMA3
    bool avx512 = false;    ///< AVX-512 F, CD, DQ and BW (xsimd 8's avx512bw needs all four)
};

/// This machine's features, found once. False everywhere off x86-64.
CpuFeatures cpu_features();

}  // namespace xtape::kernels
