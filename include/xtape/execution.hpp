// How the losses run their formulas: fused, in chunks or as plain primitives.
#pragma once

#include <cstddef>

namespace xtape {

/// How a loss runs. Every loss states its formula once (its per-element
/// expression and its reduction, or its per-sample graph); the execution
/// layer runs it one of these ways, with the same values and gradients up to
/// rounding (bitwise where the arithmetic is the same) and NaN going the same way.
enum class Execution {
    /// The default, by this rule:
    ///   1. a per-element expression (L2, Huber, SigmoidBCE, ...) is one fused
    ///      node (fuse_mean or fuse_sum): one pass each way;
    ///   2. otherwise, a graph whose samples are independent, along batch
    ///      axis 0, with more samples than one chunk of loss_chunk_elements()
    ///      elements, runs in chunks (chunked()): a few passes over memory;
    ///   3. otherwise the graph is recorded plainly.
    automatic,
    /// Every loss as plain primitives, one node per op: the reference, and
    /// the graph `xtape-gradcheck graph --expand` draws.
    eager,
    /// Every loss whose samples are independent along batch axis 0 in chunks
    /// of loss_chunk_elements() elements, per-element expressions included
    /// (the others as in automatic): a way to compare and test.
    chunked,
};

/// This thread's execution of the losses (automatic unless an ExecutionScope says otherwise).
Execution current_execution();

/// Sets this thread's execution of the losses until the scope ends.
class ExecutionScope {
public:
    /// Sets the execution; the destructor restores the previous one.
    explicit ExecutionScope(Execution execution);
    ~ExecutionScope();
    ExecutionScope(const ExecutionScope&) = delete;
    ExecutionScope& operator=(const ExecutionScope&) = delete;

private:
    Execution previous_;
};

/// The number of elements per input chunk that the losses aim for when they
/// run in chunks; 0 turns chunking off. A per-thread setting; the default,
/// 32768 (128 KB per float array), keeps a loss's intermediates within a
/// core's L2 cache with few enough chunks that recording them costs little.
std::size_t loss_chunk_elements();

/// Sets loss_chunk_elements() for this thread until the scope ends (0: never chunk).
class LossChunkingScope {
public:
    /// Sets this thread's chunk size; the destructor restores the previous one.
    explicit LossChunkingScope(std::size_t elements);
    ~LossChunkingScope();
    LossChunkingScope(const LossChunkingScope&) = delete;
    LossChunkingScope& operator=(const LossChunkingScope&) = delete;

private:
    std::size_t previous_;
};

}  // namespace xtape
