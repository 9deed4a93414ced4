// A loss's options declared once, as a list of fields of its options struct:
// the list gives the registry's option specs (with the defaults as text, read
// from the struct's own defaults), the parser from text, and Gluon's repr.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "registry_support.hpp"

namespace xtape::detail {

template <class Options>
class OptionFields {
public:
    /// One member of Options: its spec, and how it is read from text and written as text.
    struct Field {
        OptionSpec spec;
        std::function<void(const OptionReader&, Options&)> read;
        std::function<std::string(const Options&)> text;
    };

    explicit OptionFields(std::vector<Field> fields) : fields_(std::move(fields)) {}

    /// The registry's specs, in the list's order.
    std::vector<OptionSpec> specs() const {
        std::vector<OptionSpec> specs;
        for (const Field& f : fields_) specs.push_back(f.spec);
        return specs;
    }

    /// The options given as text (a missing one keeps its default); throws
    /// ValueError naming `loss` and the option as OptionReader does.
    Options parse(const std::string& loss, const OptionMap& values) const {
        const OptionReader reader(loss, specs(), values);
        Options options;
        for (const Field& f : fields_) f.read(reader, options);
        return options;
    }

    /// Gluon's repr: "HuberLoss(batch_axis=0, w=None, rho=1)", batch_axis and the
    /// weight (as w) first, then the loss's own options in the list's order.
    std::string repr(const char* loss, std::ptrdiff_t batch_axis, const Options& options) const {
        std::string text = fmt::format("{}(batch_axis={}", loss, batch_axis);
        for (const Field& f : fields_) {
            if (f.spec.name == "weight") text += ", w=" + f.text(options);
        }
        for (const Field& f : fields_) {
            if (f.spec.name != "weight" && f.spec.name != "batch_axis") text += ", " + f.spec.name + "=" + f.text(options);
        }
        return text + ")";
    }

private:
    std::vector<Field> fields_;
};

/// A field of Options: `member` of type bool, std::ptrdiff_t, double,
/// std::optional<double> or std::string (one of `choices` when they are
/// given). Its default is Options{}'s; the default gradient check tries it
/// and the values `also_try`.
template <class Options, class V>
typename OptionFields<Options>::Field field(std::string name, V Options::*member, std::string doc,
                                            std::vector<std::string> also_try = {},
                                            std::vector<std::string> choices = {}) {
    const auto text = [member](const Options& o) -> std::string {
        const V& v = o.*member;
        if constexpr (std::is_same_v<V, bool>) {
            return v ? "true" : "false";
        } else if constexpr (std::is_same_v<V, std::optional<double>>) {
            return v ? fmt::format("{}", *v) : "None";
        } else if constexpr (std::is_same_v<V, std::string>) {
            return v;
        } else {
            return fmt::format("{}", v);
        }
    };
    const auto read = [member, name](const OptionReader& r, Options& o) {
        if constexpr (std::is_same_v<V, bool>) {
            o.*member = r.get_bool(name);
        } else if constexpr (std::is_same_v<V, std::ptrdiff_t>) {
            o.*member = r.get_int(name);
        } else if constexpr (std::is_same_v<V, double>) {
            o.*member = r.get_real(name);
        } else if constexpr (std::is_same_v<V, std::optional<double>>) {
            o.*member = r.get_optional_real(name);
        } else {
            static_assert(std::is_same_v<V, std::string>, "an option is a bool, an integer, a real or a string");
            o.*member = r.get_string(name);
        }
    };
    constexpr OptionType type = std::is_same_v<V, bool>                    ? OptionType::Bool
                                : std::is_same_v<V, std::ptrdiff_t>        ? OptionType::Int
                                : std::is_same_v<V, double>                ? OptionType::Real
                                : std::is_same_v<V, std::optional<double>> ? OptionType::OptionalReal
                                                                           : OptionType::String;
    const std::string default_text = text(Options{});
    std::vector<std::string> grid{default_text};
    for (std::string& value : also_try) {
        if (value != default_text) grid.push_back(std::move(value));
    }
    return {{std::move(name), type, default_text, std::move(choices), std::move(grid), std::move(doc)}, read, text};
}

/// Gluon's `weight` of Options (a scalar factor of the loss, or None).
template <class Options>
typename OptionFields<Options>::Field weight_field() {
    return field<Options>("weight", &Options::weight, "global scalar weight of the loss, or None", {"0.5"});
}

/// Gluon's `batch_axis` of Options.
template <class Options>
typename OptionFields<Options>::Field batch_axis_field() {
    return field<Options>("batch_axis", &Options::batch_axis, "the axis that holds the samples", {"1"});
}

/// Fills `info.options`, `repr`, `bind_float` and `bind_double` for the loss
/// class template L from its option fields; `call(loss, reader)` applies the
/// loss to the inputs of an InputReader.
template <template <class> class L, class Options, class Call>
void set_callables(LossInfo& info, const OptionFields<Options>& fields, Call call) {
    info.options = fields.specs();
    const std::string name = info.name;
    const std::vector<InputSpec> inputs = info.inputs;
    info.repr = [=](const OptionMap& values) { return L<double>(fields.parse(name, values)).repr(); };
    info.bind_float = [=](const OptionMap& values) -> BoundLoss<float> {
        return [=, loss = L<float>(fields.parse(name, values))](const InputMap<float>& in) {
            return call(loss, InputReader<float>(name, inputs, in));
        };
    };
    info.bind_double = [=](const OptionMap& values) -> BoundLoss<double> {
        return [=, loss = L<double>(fields.parse(name, values))](const InputMap<double>& in) {
            return call(loss, InputReader<double>(name, inputs, in));
        };
    };
}

/// Sets `info.sample` from `draw(options, pred_shape, sampler)`, which returns
/// every input by name for the parsed options.
template <class Options, class Draw>
void set_sampler(LossInfo& info, const OptionFields<Options>& fields, Draw draw) {
    info.sample = [name = info.name, fields, draw](const OptionMap& values, const Shape& shape, std::uint64_t seed) {
        Sampler sampler(seed);
        return draw(fields.parse(name, values), shape, sampler);
    };
}

}  // namespace xtape::detail
