// Which SIMD instruction set xtape's transcendental kernels run in.
#pragma once

namespace xtape {

/// The instruction set that exp, log, log1p, tanh, sigmoid, softplus and the
/// log_softmax/softmax rows run in on this CPU, by xsimd's name for it:
/// on x86-64 the widest of "avx512bw", "fma3+avx2" and "sse2" that the CPU
/// has (chosen once, at the first call), elsewhere the build's own. For
/// benchmark reports and bug reports: results may differ in the last ulps
/// between instruction sets.
const char* kernel_instruction_set();

}  // namespace xtape
