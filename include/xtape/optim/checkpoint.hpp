// Checkpoints: parameters and optimizer state in a directory of .npy files with a JSON index.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "xtape/nn/parameter.hpp"
#include "xtape/optim/optimizer.hpp"

namespace xtape {

/// The caller's own values kept with a checkpoint, as text by name: the epoch,
/// a random engine's state (written with operator<<), a best score so far.
using CheckpointNotes = std::map<std::string, std::string>;

/// Writes a checkpoint: `directory`/checkpoint.json, and an .npy file for
/// every parameter's value ("<name>.npy") and for each of the optimizer's state
/// arrays ("<name>.<state>.npy", e.g. "mlp.0.weight.m.npy"). The JSON index
/// lists them with their shapes and holds the element type, the optimizer's
/// name, hyper-parameters, learning rate and step count, and `notes`.
///
/// `parameters` must include every parameter of the optimizer (by name) and
/// may add others (frozen ones). The checkpoint is written whole under
/// `directory` with ".partial" appended, then takes the place of the previous
/// one, so an interrupted save leaves the previous checkpoint as it was.
/// Throws ValueError when two parameters share a name, a name is not a plain
/// file name, an optimizer parameter is missing, `directory` exists and is not
/// a checkpoint, or a file cannot be written.
template <class T>
void save_checkpoint(const std::filesystem::path& directory, const std::vector<Parameter<T>>& parameters,
                     const Optimizer<T>& optimizer, const CheckpointNotes& notes = {});

/// Reads a checkpoint written by save_checkpoint into the parameters' values
/// and the optimizer's state arrays, learning rate and step count, and returns
/// its notes. Training continued from there gives the same values, bit for bit,
/// as if it had not stopped (with the same batches: keep the shuffling
/// engine's state in the notes).
///
/// Everything is read and checked before anything changes. Throws ValueError
/// naming the file when the index is missing or malformed, was written for
/// another element type or optimizer, holds other hyper-parameters than
/// `optimizer` has, or lists other parameters than those given; ShapeError when
/// a stored shape differs from its parameter's; NpyError for a malformed .npy file.
template <class T>
CheckpointNotes load_checkpoint(const std::filesystem::path& directory, const std::vector<Parameter<T>>& parameters,
                                Optimizer<T>& optimizer);

}  // namespace xtape
