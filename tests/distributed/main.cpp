// The entry point of the distributed tests, run alone or by mpirun on several ranks.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>

#include "xtape/distributed.hpp"

int main(int argc, char** argv) {
    const xtape::distributed::Environment environment;
    doctest::Context context(argc, argv);
    // Every rank runs every test (most are collective). Rank 0 reports on
    // stdout, where the test log looks for doctest's summary; the others on
    // stderr, so that a failure on any rank shows in the log too.
    if (xtape::distributed::rank() != 0) context.setCout(&std::cerr);
    const int status = context.run();
    // Every rank ends with the same status: failed when any rank failed.
    return xtape::distributed::sum(status != 0 ? 1 : 0) > 0 ? 1 : 0;
}
