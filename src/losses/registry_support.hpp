// What the registry entries of the losses share: options read from text, inputs
// looked up by name, the common option and input specs, and input sampling.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xarray.hpp>

#include "xtape/errors.hpp"
#include "xtape/losses/registry.hpp"

namespace xtape::detail {

/// A loss's options parsed from text, all at construction: every given name
/// must be one of the loss's options, a missing one takes its default.
/// Bool: true/false/1/0 (any case); Int and Real: the whole text is a number
/// (a Real must be finite); OptionalReal: a Real or None; String: one of the
/// choices. Throws ValueError naming the loss and the option otherwise.
class OptionReader {
public:
    OptionReader(const std::string& loss, const std::vector<OptionSpec>& specs, const OptionMap& values);

    bool get_bool(const std::string& name) const;
    std::ptrdiff_t get_int(const std::string& name) const;
    double get_real(const std::string& name) const;
    std::optional<double> get_optional_real(const std::string& name) const;
    const std::string& get_string(const std::string& name) const;

private:
    struct Parsed {
        OptionType type;
        bool flag = false;
        std::ptrdiff_t integer = 0;
        std::optional<double> real = std::nullopt;
        std::string text = {};
    };
    const Parsed& parsed(const std::string& name, OptionType type) const;

    std::string loss_;
    std::map<std::string, Parsed> values_;
};

/// The inputs of one call, looked up by their Gluon names. Throws ValueError
/// naming the loss and the input for a name the loss does not take, and for a
/// missing required input.
template <class T>
class InputReader {
public:
    InputReader(const std::string& loss, const std::vector<InputSpec>& specs, const InputMap<T>& inputs)
        : loss_(loss), inputs_(inputs) {
        for (const auto& [name, var] : inputs) {
            const bool known = std::any_of(specs.begin(), specs.end(), [&name = name](const InputSpec& s) { return s.name == name; });
            if (!known) throw ValueError(fmt::format("{}: unknown input '{}'", loss, name));
        }
    }

    Var<T> required(const std::string& name) const {
        const auto it = inputs_.find(name);
        if (it == inputs_.end()) throw ValueError(fmt::format("{}: missing input '{}'", loss_, name));
        return it->second;
    }

    std::optional<Var<T>> optional(const std::string& name) const {
        const auto it = inputs_.find(name);
        if (it == inputs_.end()) return std::nullopt;
        return it->second;
    }

private:
    const std::string& loss_;
    const InputMap<T>& inputs_;
};

// ---- the specs most losses share ----------------------------------------------------

/// A required, differentiable input such as "pred".
InputSpec required_input(const std::string& name, const std::string& doc, bool differentiable = true);
/// The optional, differentiable `sample_weight`.
InputSpec sample_weight_input();
/// (3, 4) and (2, 3, 4): a 2-D and a 3-D pred, small enough for full gradchecks.
std::vector<Shape> default_check_shapes();

/// Applies a loss that takes (pred, label, sample_weight?), the most common signature.
inline constexpr auto call_pred_label = [](const auto& loss, const auto& in) {
    return loss(in.required("pred"), in.required("label"), in.optional("sample_weight"));
};

// ---- sampling -------------------------------------------------------------------------

/// Random inputs, reproducible from a seed.
class Sampler {
public:
    explicit Sampler(std::uint64_t seed) : rng_(seed) {}

    double uniform(double lo, double hi);
    /// Independent U(lo, hi) elements.
    xt::xarray<double> uniform(const Shape& shape, double lo, double hi);
    /// Elements drawn from U(lo, hi) until `keep(value, flat index)` holds.
    template <class Keep>
    xt::xarray<double> uniform_where(const Shape& shape, double lo, double hi, Keep keep) {
        xt::xarray<double> out = xt::empty<double>(shape);
        for (std::size_t i = 0; i < out.size(); ++i) {
            do {
                out.flat(i) = uniform(lo, hi);
            } while (!keep(out.flat(i), i));
        }
        return out;
    }
    /// Elements -1 or 1.
    xt::xarray<double> signs(const Shape& shape);
    /// Whole numbers in [0, n-1].
    xt::xarray<double> classes(const Shape& shape, std::size_t n);

private:
    std::mt19937_64 rng_;
};

/// `shape` with its last axis set to 1: a sample_weight that broadcasts, like
/// the (N, 1) of an (N, C) loss.
Shape broadcast_weight_shape(Shape shape);

}  // namespace xtape::detail
