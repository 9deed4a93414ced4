// Saving and loading parameters as NumPy .npy files, one per parameter.
#pragma once

#include <string>
#include <vector>

#include "xtape/nn/parameter.hpp"

namespace xtape {

/// Writes each parameter to "<directory>/<name>.npy" (xt::dump_npy), creating
/// the directory when needed; NumPy reads them with numpy.load. Throws
/// ValueError when two parameters share a name or a file cannot be written.
template <class T>
void save_parameters(const std::vector<Parameter<T>>& parameters, const std::string& directory);

/// Reads each parameter's value back from "<directory>/<name>.npy"
/// (xt::load_npy). Throws ValueError naming the file when it is missing or not
/// an .npy of T, and ShapeError naming the parameter when the stored shape
/// differs; on error no parameter has been changed. The parameters are
/// handles, so `load_parameters(model.parameters(), dir)` updates the model.
template <class T>
void load_parameters(std::vector<Parameter<T>> parameters, const std::string& directory);

}  // namespace xtape
