// What the registry entries of the losses share: option parsing from text, specs, sampling.
#include "registry_support.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/ranges.h>

namespace xtape::detail {

namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

// The whole text as a finite number, or nothing.
std::optional<double> parse_real(const std::string& text) {
    if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
    return value;
}

std::optional<std::ptrdiff_t> parse_int(const std::string& text) {
    std::ptrdiff_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

const char* type_name(OptionType type) {
    switch (type) {
        case OptionType::Bool: return "a bool (true, false, 1 or 0)";
        case OptionType::Int: return "an integer";
        case OptionType::Real: return "a finite real number";
        case OptionType::OptionalReal: return "a finite real number or None";
        case OptionType::String: return "a string";
    }
    return "a value";
}

}  // namespace

OptionReader::OptionReader(const std::string& loss, const std::vector<OptionSpec>& specs, const OptionMap& values)
    : loss_(loss) {
    for (const auto& [name, text] : values) {
        const bool known = std::any_of(specs.begin(), specs.end(), [&name = name](const OptionSpec& s) { return s.name == name; });
        if (!known) {
            std::string names;
            for (const auto& s : specs) names += (names.empty() ? "" : ", ") + s.name;
            throw ValueError(fmt::format("{}: unknown option '{}' (options: {})", loss, name, names));
        }
    }
    for (const auto& spec : specs) {
        const auto given = values.find(spec.name);
        const std::string& text = given != values.end() ? given->second : spec.default_value;
        Parsed p{spec.type};
        bool ok = true;
        switch (spec.type) {
            case OptionType::Bool: {
                const std::string t = lower(text);
                ok = t == "true" || t == "false" || t == "1" || t == "0";
                p.flag = t == "true" || t == "1";
                break;
            }
            case OptionType::Int: {
                const auto v = parse_int(text);
                ok = v.has_value();
                p.integer = v.value_or(0);
                break;
            }
            case OptionType::Real:
                p.real = parse_real(text);
                ok = p.real.has_value();
                break;
            case OptionType::OptionalReal:
                if (lower(text) != "none") {
                    p.real = parse_real(text);
                    ok = p.real.has_value();
                }
                break;
            case OptionType::String:
                ok = spec.choices.empty() ||
                     std::find(spec.choices.begin(), spec.choices.end(), text) != spec.choices.end();
                p.text = text;
                if (!ok) {
                    throw ValueError(fmt::format("{}: option {} = '{}' is not one of {}", loss, spec.name, text,
                                                 fmt::join(spec.choices, ", ")));
                }
                break;
        }
        if (!ok) {
            throw ValueError(fmt::format("{}: option {} = '{}' is not {}", loss, spec.name, text, type_name(spec.type)));
        }
        values_.emplace(spec.name, std::move(p));
    }
}

const OptionReader::Parsed& OptionReader::parsed(const std::string& name, OptionType type) const {
    const auto it = values_.find(name);
    // Asking for an option the loss does not declare, or as another type, is a bug in its entry.
    if (it == values_.end() || it->second.type != type) {
        throw std::logic_error(fmt::format("{}: registry entry reads option '{}' it does not declare", loss_, name));
    }
    return it->second;
}

bool OptionReader::get_bool(const std::string& name) const { return parsed(name, OptionType::Bool).flag; }

std::ptrdiff_t OptionReader::get_int(const std::string& name) const { return parsed(name, OptionType::Int).integer; }

double OptionReader::get_real(const std::string& name) const { return *parsed(name, OptionType::Real).real; }

std::optional<double> OptionReader::get_optional_real(const std::string& name) const {
    return parsed(name, OptionType::OptionalReal).real;
}

const std::string& OptionReader::get_string(const std::string& name) const {
    return parsed(name, OptionType::String).text;
}

InputSpec required_input(const std::string& name, const std::string& doc, bool differentiable) {
    return {name, true, differentiable, doc};
}

InputSpec sample_weight_input() {
    return {"sample_weight", false, true, "per-element weights that broadcast to the elementwise loss"};
}

std::vector<Shape> default_check_shapes() { return {Shape{3, 4}, Shape{2, 3, 4}}; }

double Sampler::uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }

xt::xarray<double> Sampler::uniform(const Shape& shape, double lo, double hi) {
    return uniform_where(shape, lo, hi, [](double, std::size_t) { return true; });
}

xt::xarray<double> Sampler::signs(const Shape& shape) {
    xt::xarray<double> out = xt::empty<double>(shape);
    std::bernoulli_distribution coin(0.5);
    for (double& v : out) v = coin(rng_) ? 1.0 : -1.0;
    return out;
}

xt::xarray<double> Sampler::classes(const Shape& shape, std::size_t n) {
    xt::xarray<double> out = xt::empty<double>(shape);
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    for (double& v : out) v = static_cast<double>(pick(rng_));
    return out;
}

Shape broadcast_weight_shape(Shape shape) {
    if (!shape.empty()) shape.back() = 1;
    return shape;
}

}  // namespace xtape::detail
