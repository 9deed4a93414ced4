// The thread count of every library the benchmark runs: OpenBLAS, OpenMP and torch.
#include "threads.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

#include "torch_peer.hpp"

// OpenBLAS's own setter (its cblas.h is not the only cblas.h a system may have).
extern "C" void openblas_set_num_threads(int threads);

namespace xtape::bench {

void set_threads(int threads) {
    openblas_set_num_threads(threads);
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    set_torch_threads(threads);
}

}  // namespace xtape::bench
