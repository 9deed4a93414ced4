// Loading a delimited text file of numbers (xtensor's CSV reader, with errors that name the file).
#pragma once

#include <cstddef>
#include <string>

#include <xtensor/xarray.hpp>

namespace xtape {

/// Reads `path` into a (rows, columns) array with xt::load_csv: one row per
/// line, cells separated by `delimiter`, the first `skip_rows` lines skipped
/// (a header). Throws ValueError naming the file when it cannot be opened, holds
/// no rows, a cell is not a number, or rows differ in length.
template <class T>
xt::xarray<T> load_csv(const std::string& path, char delimiter = ',', std::size_t skip_rows = 0);

}  // namespace xtape
