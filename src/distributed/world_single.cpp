// The world of one process, for a build without MPI.
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "world.hpp"
#include "xtape/errors.hpp"

namespace xtape::distributed::world {

namespace {
bool started = false;

// The number of processes a launcher (OpenMPI's mpirun, MPICH's and Intel's
// Hydra) says it started, or 1.
long launched_processes() {
    for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
        if (const char* value = std::getenv(variable)) return std::strtol(value, nullptr, 10);
    }
    return 1;
}
}  // namespace

bool is_mpi() { return false; }

bool start() {
    if (const long processes = launched_processes(); processes > 1) {
        throw ValueError(fmt::format("distributed::Environment: mpirun started {} processes, but this xtape was "
                                     "built without MPI, so each would train alone (configure with -Dmpi=enabled)",
                                     processes));
    }
    if (started) return false;
    started = true;
    return true;
}

void stop() { started = false; }
bool running() { return started; }
int rank() { return 0; }
int size() { return 1; }

// With one rank, a sum, a broadcast and a gather leave every value as it is.
void sum_in_place(std::span<float>) {}
void sum_in_place(std::span<double>) {}
void broadcast_from_rank0(std::span<float>) {}
void broadcast_from_rank0(std::span<double>) {}
void broadcast_from_rank0(std::string&) {}
std::vector<int> gather_all(int value) { return {value}; }

// The one process ends as its caller decides.
void abort_if_several(int) {}

}  // namespace xtape::distributed::world
