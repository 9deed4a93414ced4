// The few collective operations distributed.cpp needs, from MPI (world_mpi.cpp)
// or, in a build without MPI, for a world of one process (world_single.cpp).
#pragma once

#include <span>
#include <string>
#include <vector>

namespace xtape::distributed::world {

/// Whether this is the MPI implementation.
bool is_mpi();
/// Starts the world unless it is running; returns whether this call started it.
bool start();
/// Ends the world that start() started.
void stop();
/// Whether the world is running (started here or by the program itself).
bool running();
/// This process's rank and the number of ranks; the world must be running.
int rank();
int size();

/// Element-wise sum over the ranks, in place, every rank getting the result (MPI_Allreduce).
void sum_in_place(std::span<float> values);
void sum_in_place(std::span<double> values);
/// Rank 0's values on every rank (MPI_Bcast); every rank passes as many.
void broadcast_from_rank0(std::span<float> values);
void broadcast_from_rank0(std::span<double> values);
/// Rank 0's text on every rank.
void broadcast_from_rank0(std::string& text);
/// Every rank's `value`, in rank order, on every rank (MPI_Allgather).
std::vector<int> gather_all(int value);

/// Ends every process of the world with `status` (MPI_Abort) when there are
/// several; returns otherwise.
void abort_if_several(int status);

}  // namespace xtape::distributed::world
