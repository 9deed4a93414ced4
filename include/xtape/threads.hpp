// How many threads xtape splits its large work over.
#pragma once

namespace xtape {

/// The number of threads that xtape's large loops (fused losses, row kernels
/// such as softmax and cosine similarity, CTC over its samples, optimizer
/// steps) are split over. Unless set_num_threads was called, OpenMP's default
/// for the calling thread: OMP_NUM_THREADS when set, else the cores this
/// process may run on, as libtorch does, so that a workstation's cores are
/// used without any setting and a shared machine can be limited from outside.
/// Results are bit for bit the same for any number of threads: each loop is
/// cut at boundaries that do not depend on it, and every sum is combined in
/// the same order. Work too small to gain from threads (a loss on a few
/// thousand elements) stays on the calling thread.
int num_threads();

/// Sets num_threads() for the whole process (1: every loop on the calling
/// thread). Throws ValueError when `threads` is less than 1.
void set_num_threads(int threads);

}  // namespace xtape
