// The registry of losses: names, inputs, options and defaults, so that the
// command-line tool and the tests iterate over every loss without a list of their own.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "xtape/shape.hpp"
#include "xtape/tape.hpp"

namespace xtape {

/// How an option's text value is parsed.
enum class OptionType { Bool, Int, Real, OptionalReal, String };

/// One option of a loss, with Gluon's name and default.
struct OptionSpec {
    /// Gluon's name of the option, e.g. "margin".
    std::string name;
    /// How its text value is parsed.
    OptionType type;
    /// Gluon's default, as text: "1", "None", "true", "NTC".
    std::string default_value;
    /// The allowed values of a String option (empty: any).
    std::vector<std::string> choices;
    /// The values the default gradient check tries (the default among them).
    std::vector<std::string> grid;
    /// What the option does, one line.
    std::string doc;
};

/// One input of a loss, with Gluon's argument name.
struct InputSpec {
    /// Gluon's argument name, e.g. "pred".
    std::string name;
    /// False for inputs the call may omit (sample_weight, lengths, ...).
    bool required;
    /// False for indices and lengths (sparse labels, CTC labels and lengths).
    bool differentiable;
    /// What the input holds, one line.
    std::string doc;
};

/// Option values by name, as text; a missing option takes its default.
using OptionMap = std::map<std::string, std::string>;
template <class T>
/// Input variables by Gluon's argument name, all on one tape.
using InputMap = std::map<std::string, Var<T>>;
template <class T>
/// Input arrays by Gluon's argument name.
using ArrayMap = std::map<std::string, xt::xarray<T>>;
template <class T>
/// A loss built with its options, as a function of its named inputs.
using BoundLoss = std::function<Var<T>(const InputMap<T>&)>;

/// Everything the tools need to know about one loss.
struct LossInfo {
    std::string name;                  ///< Gluon's class name, e.g. "SoftmaxCrossEntropyLoss"
    std::vector<std::string> aliases;  ///< Other names, e.g. "SoftmaxCELoss"
    std::string summary;               ///< What it computes, one line.
    std::vector<InputSpec> inputs;     ///< Its inputs, in Gluon's call order
    std::vector<OptionSpec> options;   ///< Its options, with defaults.
    /// Pred shapes the default check uses (in the default layout).
    std::vector<Shape> check_shapes;

    /// Gluon-like repr of the loss built with these options. All three callables
    /// throw ValueError for an unknown option name or a malformed value.
    std::function<std::string(const OptionMap&)> repr;
    /// Builds the loss with these options, once: the result applies it to the
    /// named inputs (all on one tape) and throws ValueError for a missing
    /// required input or an unknown input name, and the loss's own errors for
    /// bad data. Bind once where a loss is applied many times (a training
    /// loop, a finite-difference check): building parses the options.
    std::function<BoundLoss<float>(const OptionMap&)> bind_float;
    /// As bind_float, in double.
    std::function<BoundLoss<double>(const OptionMap&)> bind_double;
    /// Valid inputs for a pred of `pred_shape`, drawn from `seed` and away from
    /// kinks: every input, optional ones included (the caller drops those it
    /// does not want). Integer-valued inputs (sparse labels, lengths) hold whole numbers.
    std::function<ArrayMap<double>(const OptionMap&, const Shape& pred_shape, std::uint64_t seed)> sample;
    /// Set only where an option decides whether an input gets a gradient
    /// (SoftmaxCrossEntropyLoss's label: only when sparse_label is false);
    /// otherwise the InputSpec's `differentiable` holds. Use is_differentiable().
    std::function<bool(const OptionMap&, const std::string& input)> differentiable_override;

    /// Whether `input` gets a gradient from the loss built with these options.
    bool is_differentiable(const OptionMap& options, const std::string& input) const {
        if (differentiable_override) return differentiable_override(options, input);
        for (const auto& spec : inputs) {
            if (spec.name == input) return spec.differentiable;
        }
        return false;
    }

    template <class T>
    /// bind_float or bind_double, chosen by T; throws as they do.
    BoundLoss<T> bind(const OptionMap& options) const {
        if constexpr (std::is_same_v<T, float>) {
            return bind_float(options);
        } else {
            return bind_double(options);
        }
    }

    template <class T>
    /// The loss built with these options, applied to the named inputs once
    /// (bind, then call); throws as they do.
    Var<T> apply(const OptionMap& options, const InputMap<T>& inputs) const {
        return bind<T>(options)(inputs);
    }
};

/// Every loss, in a stable order (Gluon's documentation order).
const std::vector<LossInfo>& loss_registry();

/// The loss with this class name or alias, matched case-insensitively; throws
/// ValueError listing the known names otherwise.
const LossInfo& find_loss(std::string_view name);

}  // namespace xtape
