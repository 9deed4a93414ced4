// What every optimizer shares: its parameters, the step size, the count of
// steps, the arrays it keeps per parameter, and finding each gradient.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "xtape/nn/parameter.hpp"

namespace xtape {

/// The base of SGD, Adam and AdamW. `step()` finds each parameter's gradient
/// on the tape the parameter entered (Parameter::grad), so it needs no tape,
/// and updates the parameter in one vectorised pass over its arrays.
template <class T>
class Optimizer {
public:
    virtual ~Optimizer() = default;

    /// One update of every parameter from its gradient: call it after
    /// backward, before the tape is cleared. A parameter that no gradient
    /// reached counts as a zero gradient (momentum and weight decay still move
    /// it). Throws TapeError, and changes nothing, when none of the parameters
    /// has a gradient: backward was not called, or not on the graph the
    /// parameters entered, or the tape was cleared before the step.
    void step();
    /// One update from given gradients, one per parameter in the constructor's
    /// order (distributed::GradientAverager's averages over the ranks). Throws
    /// ShapeError, and changes nothing, when their number or a shape differs.
    void step(std::span<const xt::xarray<T>> gradients);

    /// The current step size.
    double learning_rate() const { return learning_rate_; }
    /// For schedules; throws ValueError unless rate > 0.
    void set_learning_rate(double rate);
    /// Updates made so far (t).
    std::int64_t steps() const { return steps_; }
    /// Sets the count of updates made, to resume from a checkpoint; throws
    /// ValueError when negative.
    void set_steps(std::int64_t steps);
    /// The parameters it updates, in the order given.
    const std::vector<Parameter<T>>& parameters() const { return parameters_; }

    /// "SGD", "Adam" or "AdamW".
    const char* name() const { return name_; }
    /// The hyper-parameters other than the learning rate, by name, with their values.
    virtual std::vector<std::pair<std::string, double>> options() const = 0;
    /// The names of the arrays kept for each parameter ("velocity"; "m", "v").
    const std::vector<std::string>& state_names() const { return state_names_; }
    /// State array `slot` (an index into state_names()) of parameter k, of the
    /// parameter's shape.
    xt::xarray<T>& state(std::size_t slot, std::size_t k) { return state_[slot][k]; }
    /// State array `slot` of parameter k.
    const xt::xarray<T>& state(std::size_t slot, std::size_t k) const { return state_[slot][k]; }

protected:
    /// Checks the learning rate (ValueError names `name`) and makes each state
    /// array zeros of its parameter's shape.
    Optimizer(const char* name, std::vector<Parameter<T>> parameters, double learning_rate,
              std::vector<std::string> state_names);
    /// A copy updates the same parameters (handles) from a copy of the state;
    /// protected, as a copy of the base alone would lose the derived optimizer.
    Optimizer(const Optimizer&) = default;
    /// As the copy constructor.
    Optimizer& operator=(const Optimizer&) = default;

    /// Updates parameter k's value w from its gradient g (nullptr: none
    /// reached it); steps() already counts this update.
    virtual void update(std::size_t k, xt::xarray<T>& w, const xt::xarray<T>* g) = 0;

private:
    const char* name_;
    std::vector<Parameter<T>> parameters_;
    double learning_rate_;
    std::int64_t steps_ = 0;
    std::vector<std::string> state_names_;
    std::vector<std::vector<xt::xarray<T>>> state_;  // [slot][parameter]
};

}  // namespace xtape
