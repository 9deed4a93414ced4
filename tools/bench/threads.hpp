// The thread count of every library the benchmark runs: OpenBLAS, OpenMP and torch.
#pragma once

namespace xtape::bench {

/// Sets OpenBLAS's threads, OpenMP's (when the bench is built with it) and
/// torch's intra-op threads (when the peer is built) to `threads`.
void set_threads(int threads);

}  // namespace xtape::bench
