// Checkpoints: parameters and optimizer state in a directory of .npy files with a JSON index.
#include "xtape/optim/checkpoint.hpp"

#include <algorithm>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xtape/errors.hpp"
#include "xtape/io/npy.hpp"
#include "xtape/shape.hpp"

namespace xtape {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* index_name = "checkpoint.json";
constexpr const char* format_name = "xtape checkpoint";
constexpr int format_version = 1;

// The directory name with `suffix` appended ("run/ckpt" -> "run/ckpt.partial").
fs::path sibling(const fs::path& directory, const char* suffix) {
    fs::path path = directory;
    if (!path.has_filename()) path = path.parent_path();  // "ckpt/" names "ckpt"
    return path.string() + suffix;
}

std::string parameter_file(const std::string& name) { return name + ".npy"; }
std::string state_file(const std::string& name, const std::string& state) { return name + "." + state + ".npy"; }

// The position of each parameter of the optimizer in `parameters`, by name.
template <class T>
std::vector<std::size_t> optimizer_positions(const char* who, const std::vector<Parameter<T>>& parameters,
                                             const Optimizer<T>& optimizer) {
    std::vector<std::size_t> positions;
    for (const Parameter<T>& p : optimizer.parameters()) {
        std::size_t k = 0;
        while (k < parameters.size() && parameters[k].name() != p.name()) ++k;
        if (k == parameters.size()) {
            throw ValueError(fmt::format("{}: parameter '{}' of the {} optimizer is not among the parameters given",
                                         who, p.name(), optimizer.name()));
        }
        positions.push_back(k);
    }
    return positions;
}

template <class T>
void check_names(const char* who, const std::vector<Parameter<T>>& parameters) {
    std::set<std::string> names;
    for (const Parameter<T>& p : parameters) {
        const std::string& name = p.name();
        if (name == "." || name == ".." || name.find('/') != std::string::npos) {
            throw ValueError(fmt::format("{}: parameter name '{}' is not a plain file name", who, name));
        }
        if (!names.insert(name).second) throw ValueError(fmt::format("{}: two parameters are named '{}'", who, name));
    }
}

json options_json(const std::vector<std::pair<std::string, double>>& options) {
    json object = json::object();
    for (const auto& [name, value] : options) object[name] = value;
    return object;
}

}  // namespace

template <class T>
void save_checkpoint(const fs::path& directory, const std::vector<Parameter<T>>& parameters,
                     const Optimizer<T>& optimizer, const CheckpointNotes& notes) {
    const char* who = "save_checkpoint";
    check_names(who, parameters);
    const std::vector<std::size_t> positions = optimizer_positions(who, parameters, optimizer);
    if (fs::exists(directory) && !fs::exists(directory / index_name) && !fs::is_empty(directory)) {
        throw ValueError(fmt::format("{}: '{}' exists and is not a checkpoint (no {}); it is left alone", who,
                                     directory.string(), index_name));
    }
    const fs::path partial = sibling(directory, ".partial");
    std::error_code error;
    fs::remove_all(partial, error);
    fs::create_directories(partial, error);
    if (error) {
        throw ValueError(fmt::format("{}: cannot create directory '{}': {}", who, partial.string(), error.message()));
    }

    json index = {{"format", format_name}, {"version", format_version}, {"dtype", to_string(npy_dtype_of<T>())}};
    json& listed = index["parameters"] = json::array();
    for (const Parameter<T>& p : parameters) {
        write_npy(partial / parameter_file(p.name()), p.value());
        const std::vector<std::size_t> shape(p.shape().begin(), p.shape().end());
        listed.push_back({{"name", p.name()}, {"shape", shape}, {"file", parameter_file(p.name())}});
    }
    json state = json::array();
    for (std::size_t k = 0; k < positions.size(); ++k) {
        const std::string& name = parameters[positions[k]].name();
        json files = {{"parameter", name}};
        for (std::size_t slot = 0; slot < optimizer.state_names().size(); ++slot) {
            const std::string& state_name = optimizer.state_names()[slot];
            write_npy(partial / state_file(name, state_name), optimizer.state(slot, k));
            files[state_name] = state_file(name, state_name);
        }
        state.push_back(std::move(files));
    }
    index["optimizer"] = {{"name", optimizer.name()},
                          {"learning_rate", optimizer.learning_rate()},
                          {"steps", optimizer.steps()},
                          {"options", options_json(optimizer.options())},
                          {"state", std::move(state)}};
    index["notes"] = notes;
    {
        std::ofstream stream(partial / index_name);
        stream << index.dump(2) << '\n';
        if (!stream) throw ValueError(fmt::format("{}: cannot write '{}'", who, (partial / index_name).string()));
    }

    // The new checkpoint takes the old one's place; the old one goes last.
    const fs::path old = sibling(directory, ".old");
    fs::remove_all(old, error);
    if (fs::exists(directory)) fs::rename(directory, old, error);
    if (!error) fs::rename(partial, directory, error);
    if (error) {
        throw ValueError(fmt::format("{}: cannot put '{}' in place of '{}': {}", who, partial.string(),
                                     directory.string(), error.message()));
    }
    fs::remove_all(old, error);
}

template <class T>
CheckpointNotes load_checkpoint(const fs::path& directory, const std::vector<Parameter<T>>& parameters,
                                Optimizer<T>& optimizer) {
    const char* who = "load_checkpoint";
    const fs::path index_path = directory / index_name;
    const auto fail = [&](const std::string& what) {
        return ValueError(fmt::format("{}: '{}' {}", who, index_path.string(), what));
    };
    std::ifstream stream(index_path);
    if (!stream) throw fail("cannot be opened");
    json index;
    try {
        index = json::parse(stream);
    } catch (const json::exception& e) {
        throw fail(fmt::format("is not valid JSON ({})", e.what()));
    }

    // Everything is read and checked into these before anything changes.
    std::vector<xt::xarray<T>> values(parameters.size());
    std::vector<std::vector<xt::xarray<T>>> state(optimizer.state_names().size());
    CheckpointNotes notes;
    double learning_rate = 0;
    std::int64_t steps = 0;
    // Reads an .npy file of the checkpoint holding exactly T, of `shape`.
    const auto read = [&](const std::string& file, const Shape& shape, const std::string& what) {
        const fs::path path = directory / file;
        NpyArray<T> stored = read_npy<T>(path);
        if (stored.dtype != npy_dtype_of<T>()) {
            throw ValueError(fmt::format("{}: '{}' holds {}, not {}", who, path.string(), to_string(stored.dtype),
                                         to_string(npy_dtype_of<T>())));
        }
        if (stored.array.shape() != shape) {
            throw ShapeError(fmt::format("{}: {} has shape {} but '{}' holds shape {}", who, what, to_string(shape),
                                         path.string(), to_string(stored.array.shape())));
        }
        return std::move(stored.array);
    };
    try {
        if (index.at("format") != format_name || index.at("version") != format_version) {
            throw fail(fmt::format("is not an {} of version {}", format_name, format_version));
        }
        if (index.at("dtype") != to_string(npy_dtype_of<T>())) {
            throw fail(fmt::format("holds {} arrays, not {}", index.at("dtype").dump(), to_string(npy_dtype_of<T>())));
        }
        const json& listed = index.at("parameters");
        if (listed.size() != parameters.size()) {
            throw fail(fmt::format("lists {} parameters, but {} were given", listed.size(), parameters.size()));
        }
        for (std::size_t k = 0; k < parameters.size(); ++k) {
            const Parameter<T>& p = parameters[k];
            const auto entry = std::find_if(listed.begin(), listed.end(),
                                            [&](const json& e) { return e.at("name") == p.name(); });
            if (entry == listed.end()) throw fail(fmt::format("does not list parameter '{}'", p.name()));
            values[k] = read(entry->at("file").template get<std::string>(), p.shape(), fmt::format("parameter '{}'", p.name()));
        }

        const json& saved = index.at("optimizer");
        if (saved.at("name") != optimizer.name()) {
            throw fail(fmt::format("holds the state of optimizer {}, not of {}",
                                   saved.at("name").get<std::string>(), optimizer.name()));
        }
        if (saved.at("options") != options_json(optimizer.options())) {
            throw fail(fmt::format("holds {} with options {}, but this one has {}", optimizer.name(),
                                   saved.at("options").dump(), options_json(optimizer.options()).dump()));
        }
        learning_rate = saved.at("learning_rate").get<double>();
        steps = saved.at("steps").get<std::int64_t>();
        if (!(learning_rate > 0) || steps < 0) {
            throw fail(fmt::format("holds learning_rate {} and steps {}; they must be > 0 and >= 0", learning_rate,
                                   steps));
        }
        optimizer_positions(who, parameters, optimizer);
        const json& files = saved.at("state");
        if (files.size() != optimizer.parameters().size()) {
            throw fail(fmt::format("holds optimizer state for {} parameters, but the optimizer has {}", files.size(),
                                   optimizer.parameters().size()));
        }
        for (std::size_t k = 0; k < optimizer.parameters().size(); ++k) {
            const Parameter<T>& p = optimizer.parameters()[k];
            if (files[k].at("parameter") != p.name()) {
                throw fail(fmt::format("holds optimizer state for '{}' where the optimizer has '{}'",
                                       files[k].at("parameter").dump(), p.name()));
            }
            for (std::size_t slot = 0; slot < optimizer.state_names().size(); ++slot) {
                const std::string& name = optimizer.state_names()[slot];
                state[slot].push_back(read(files[k].at(name).get<std::string>(), p.shape(),
                                           fmt::format("the optimizer's {} of '{}'", name, p.name())));
            }
        }
        notes = index.at("notes").get<CheckpointNotes>();
    } catch (const json::exception& e) {
        throw fail(fmt::format("is not a checkpoint index ({})", e.what()));
    }

    optimizer.set_learning_rate(learning_rate);
    optimizer.set_steps(steps);
    for (std::size_t k = 0; k < parameters.size(); ++k) Parameter<T>(parameters[k]).assign(std::move(values[k]));
    for (std::size_t slot = 0; slot < state.size(); ++slot) {
        for (std::size_t k = 0; k < state[slot].size(); ++k) optimizer.state(slot, k) = std::move(state[slot][k]);
    }
    return notes;
}

template void save_checkpoint(const fs::path&, const std::vector<Parameter<float>>&, const Optimizer<float>&,
                              const CheckpointNotes&);
template void save_checkpoint(const fs::path&, const std::vector<Parameter<double>>&, const Optimizer<double>&,
                              const CheckpointNotes&);
template CheckpointNotes load_checkpoint(const fs::path&, const std::vector<Parameter<float>>&, Optimizer<float>&);
template CheckpointNotes load_checkpoint(const fs::path&, const std::vector<Parameter<double>>&, Optimizer<double>&);

}  // namespace xtape
