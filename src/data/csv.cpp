// Loading a delimited text file of numbers (xtensor's CSV reader, with errors that name the file).
#include "xtape/data/csv.hpp"

#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <xtensor/xcsv.hpp>

#include "xtape/errors.hpp"

namespace xtape {

template <class T>
xt::xarray<T> load_csv(const std::string& path, char delimiter, std::size_t skip_rows) {
    std::ifstream stream(path);
    if (!stream) throw ValueError(fmt::format("load_csv: cannot open file '{}'", path));
    xt::xarray<T> data;
    try {
        // xt::load_csv throws std::invalid_argument (from std::stod) for a cell
        // that is not a number and std::runtime_error for ragged rows.
        data = xt::load_csv<T>(stream, delimiter, skip_rows);
    } catch (const std::exception& e) {
        throw ValueError(fmt::format("load_csv: file '{}' is not a table of numbers ({})", path, e.what()));
    }
    if (data.size() == 0) throw ValueError(fmt::format("load_csv: file '{}' holds no rows", path));
    return data;
}

template xt::xarray<float> load_csv(const std::string&, char, std::size_t);
template xt::xarray<double> load_csv(const std::string&, char, std::size_t);

}  // namespace xtape
