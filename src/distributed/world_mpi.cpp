// The world of MPI_COMM_WORLD. MPI's default error handler ends every rank on
// a failed call (MPI_ERRORS_ARE_FATAL), so the return codes go unchecked.
#include <climits>
#include <string>

#include <fmt/format.h>
// MPI's C interface only: OpenMPI's deprecated C++ bindings warn under -Wextra.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include "world.hpp"
#include "xtape/errors.hpp"

namespace xtape::distributed::world {

namespace {
template <class T>
MPI_Datatype datatype();
template <>
MPI_Datatype datatype<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype datatype<double>() { return MPI_DOUBLE; }

// MPI counts elements in an int.
int count(std::size_t elements, const char* operation) {
    if (elements > static_cast<std::size_t>(INT_MAX)) {
        throw ValueError(fmt::format("distributed::{}: {} elements in one message, more than MPI's limit of {}",
                                     operation, elements, INT_MAX));
    }
    return static_cast<int>(elements);
}

template <class T>
void sum(std::span<T> values) {
    MPI_Allreduce(MPI_IN_PLACE, values.data(), count(values.size(), "sum"), datatype<T>(), MPI_SUM, MPI_COMM_WORLD);
}

template <class T>
void broadcast(std::span<T> values) {
    MPI_Bcast(values.data(), count(values.size(), "broadcast"), datatype<T>(), 0, MPI_COMM_WORLD);
}
}  // namespace

bool is_mpi() { return true; }

bool running() {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized != 0 && finalized == 0;
}

bool start() {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (finalized != 0) throw ValueError("distributed::Environment: MPI was finalised already and cannot start again");
    if (initialized != 0) return false;
    // Other threads (OpenBLAS's) may run, but only this one calls MPI.
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    return true;
}

void stop() { MPI_Finalize(); }

int rank() {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int size() {
    int size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

void sum_in_place(std::span<float> values) { sum(values); }
void sum_in_place(std::span<double> values) { sum(values); }
void broadcast_from_rank0(std::span<float> values) { broadcast(values); }
void broadcast_from_rank0(std::span<double> values) { broadcast(values); }

void broadcast_from_rank0(std::string& text) {
    unsigned long length = text.size();
    MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG, 0, MPI_COMM_WORLD);
    text.resize(length);
    MPI_Bcast(text.data(), count(length, "broadcast"), MPI_CHAR, 0, MPI_COMM_WORLD);
}

std::vector<int> gather_all(int value) {
    std::vector<int> values(static_cast<std::size_t>(size()));
    MPI_Allgather(&value, 1, MPI_INT, values.data(), 1, MPI_INT, MPI_COMM_WORLD);
    return values;
}

void abort_if_several(int status) {
    if (size() > 1) MPI_Abort(MPI_COMM_WORLD, status);
}

}  // namespace xtape::distributed::world
