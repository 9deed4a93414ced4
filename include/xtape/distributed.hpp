// Data-parallel training across processes and machines, on MPI.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <xtensor/xarray.hpp>

#include "xtape/nn/parameter.hpp"
#include "xtape/tape.hpp"

/// Data-parallel training: every process (a rank) holds the same model, runs
/// it on its share of each global batch, and steps with the gradient averaged
/// over the whole batch, so the parameters stay equal on every rank and each
/// step is the single-process step on the whole batch, up to summation order.
///
/// Start the program with mpirun (`mpirun -n 4 ./train`; `--hostfile hosts`
/// across machines). Not started by mpirun, or in a build without MPI (meson
/// option `mpi`), the same calls run a world of one process: rank 0 of 1,
/// where broadcast and averaging leave every value as it is. One program
/// serves both. The communication is MPI's (MPI_COMM_WORLD); no header of
/// xtape includes mpi.h.
namespace xtape::distributed {

/// Whether this xtape was built with MPI (meson option `mpi`).
bool built_with_mpi();

/// MPI for the lifetime of this object; construct one at the start of main,
/// before any other call of this namespace.
class Environment {
public:
    /// Starts MPI (threads allowed, only the main one communicating) unless it
    /// is running already; not under mpirun, a world of one. Throws ValueError
    /// when MPI was finalised already, and, in a build without MPI, when mpirun
    /// started several processes (each would train alone, unaware of the others).
    Environment();
    /// Finalises MPI when this object started it. Finalising waits for every
    /// rank: a rank that fails calls abort_all instead of returning.
    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;

private:
    bool started_ = false;
};

/// This process's rank, 0 .. size() - 1. Throws ValueError when no Environment
/// (nor the program itself) started MPI.
int rank();
/// The number of ranks. Throws as rank() does.
int size();

/// Ends every rank with exit status `status` when there are several
/// (MPI_Abort): a rank that fails must, since the others may be waiting in a
/// collective call it will never join. In a world of one it returns, and the
/// caller ends the program as usual.
void abort_all(int status);

/// A share of a global batch: the items [begin, end).
struct Share {
    /// The first item.
    std::size_t begin = 0;
    /// One past the last item.
    std::size_t end = 0;
    /// end - begin.
    std::size_t size() const { return end - begin; }
};

/// The share of `n` items that rank `rank` of `size` takes: consecutive ranges
/// in rank order, the first n % size ranks one item more than the others (an
/// empty share when n < size). Throws ValueError when rank is not in [0, size).
Share share_of(std::size_t n, int rank, int size);
/// This rank's share of `n` items.
Share local_share(std::size_t n);
/// This rank's share of a global batch of rows: a view of `rows`.
std::span<const std::size_t> local_share(std::span<const std::size_t> rows);

/// The sum of `value` over the ranks (a metric such as an epoch's loss).
/// Collective: every rank calls it.
double sum(double value);

/// Sends rank 0's values of `parameters` to every rank, so that all start
/// equal. Collective. Throws ValueError on every rank when the ranks'
/// parameters differ in number, names or shapes.
template <class T>
void broadcast(const std::vector<Parameter<T>>& parameters);

/// Averages the gradients of a list of parameters over the ranks, once per
/// training step, in one message: its buffers are made once, here.
template <class T>
class GradientAverager {
public:
    /// Collective: every rank constructs it with its copy of the same
    /// parameters. Throws ValueError on every rank when the ranks' parameters
    /// differ in number, names or shapes (before any gradient is sent).
    explicit GradientAverager(std::vector<Parameter<T>> parameters);

    /// Collective, once per step, after backward and before the optimizer's
    /// step. `samples` is the number of samples this rank's loss is the mean
    /// over (its share of the global batch; 0 when its share is empty and it
    /// recorded nothing). Returns the gradient of the global batch's mean loss,
    ///   sum over ranks r of samples_r * g_r, divided by the sum of samples_r,
    /// one array per parameter in the constructor's order, valid until the next
    /// call: pass it to the optimizer's step. A parameter that got no gradient
    /// on a rank counts as zeros there. One MPI_Allreduce carries every gradient
    /// and the sample count. In a world of one, the tape's gradients unchanged.
    /// Throws ValueError on every rank when no rank had a sample.
    std::span<const xt::xarray<T>> average(const Tape<T>& tape, std::size_t samples);

    /// The parameters, in the order of the gradients.
    const std::vector<Parameter<T>>& parameters() const { return parameters_; }

private:
    std::vector<Parameter<T>> parameters_;
    // Each rank's weighted gradients, flattened in parameter order, then its
    // sample count: the one buffer that the all-reduce sums.
    std::vector<T> message_;
    std::vector<xt::xarray<T>> gradients_;
};

}  // namespace xtape::distributed
