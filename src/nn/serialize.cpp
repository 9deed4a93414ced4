// Saving and loading parameters as NumPy .npy files, one per parameter.
#include "xtape/nn/serialize.hpp"

#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <xtensor/xnpy.hpp>

#include "xtape/errors.hpp"
#include "xtape/shape.hpp"

namespace xtape {

namespace {
std::string npy_path(const std::string& directory, const std::string& name) {
    return (std::filesystem::path(directory) / (name + ".npy")).string();
}
}  // namespace

template <class T>
void save_parameters(const std::vector<Parameter<T>>& parameters, const std::string& directory) {
    std::set<std::string> names;
    for (const Parameter<T>& p : parameters) {
        if (!names.insert(p.name()).second) {
            throw ValueError(fmt::format("save_parameters: two parameters are named '{}'", p.name()));
        }
    }
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error) {
        throw ValueError(fmt::format("save_parameters: cannot create directory '{}': {}", directory, error.message()));
    }
    for (const Parameter<T>& p : parameters) {
        const std::string path = npy_path(directory, p.name());
        std::ofstream stream(path, std::ios::binary);
        stream << xt::dump_npy(p.value());
        if (!stream) throw ValueError(fmt::format("save_parameters: cannot write '{}'", path));
    }
}

template <class T>
void load_parameters(std::vector<Parameter<T>> parameters, const std::string& directory) {
    // Read and check everything first, so that a bad file changes nothing.
    std::vector<xt::xarray<T>> values;
    values.reserve(parameters.size());
    for (const Parameter<T>& p : parameters) {
        const std::string path = npy_path(directory, p.name());
        std::ifstream stream(path, std::ios::binary);
        if (!stream) throw ValueError(fmt::format("load_parameters: cannot open '{}'", path));
        xt::xarray<T> value;
        try {
            value = xt::load_npy<T>(stream);
        } catch (const std::exception& e) {
            throw ValueError(fmt::format("load_parameters: '{}' is not an .npy file of this type ({})", path, e.what()));
        }
        if (value.shape() != p.shape()) {
            throw ShapeError(fmt::format("load_parameters: parameter '{}' has shape {} but '{}' holds shape {}",
                                         p.name(), to_string(p.shape()), path, to_string(value.shape())));
        }
        values.push_back(std::move(value));
    }
    for (std::size_t k = 0; k < parameters.size(); ++k) parameters[k].assign(std::move(values[k]));
}

template void save_parameters(const std::vector<Parameter<float>>&, const std::string&);
template void save_parameters(const std::vector<Parameter<double>>&, const std::string&);
template void load_parameters(std::vector<Parameter<float>>, const std::string&);
template void load_parameters(std::vector<Parameter<double>>, const std::string&);

}  // namespace xtape
