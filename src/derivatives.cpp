// xtape::grad and the second-order helpers built on it.
#include "xtape/derivatives.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

namespace xtape {

template <class T>
std::vector<Var<T>> grad(std::span<const Var<T>> outputs, std::span<const Var<T>> inputs,
                         std::span<const Var<T>> seeds, GradOptions options) {
    if (outputs.empty()) throw ShapeError("grad: no outputs");
    Tape<T>& tape = outputs.front().tape();
    if (options.create_graph) return tape.gradients(outputs, seeds, inputs);
    // Constants: the first-order sweep gives them without recording anything.
    std::vector<xt::xarray<T>> seed_values;
    seed_values.reserve(seeds.size());
    for (const Var<T>& seed : seeds) seed_values.push_back(seed.value());
    std::vector<Var<T>> grads;
    grads.reserve(inputs.size());
    for (xt::xarray<T>& g : tape.gradient_arrays(outputs, std::move(seed_values), inputs)) {
        grads.push_back(tape.constant(std::move(g)));
    }
    return grads;
}

template <class T>
std::vector<Var<T>> grad(const Var<T>& output, std::span<const Var<T>> inputs, const Var<T>& seed,
                         GradOptions options) {
    return grad(std::span(&output, 1), inputs, std::span(&seed, 1), options);
}

template <class T>
std::vector<Var<T>> grad(const Var<T>& output, std::span<const Var<T>> inputs, GradOptions options) {
    if (output.size() != 1) {
        throw ShapeError(fmt::format("grad: output of shape {} is not a single element; pass a seed of that shape",
                                     to_string(output.shape())));
    }
    return grad(output, inputs, output.tape().constant(xt::ones<T>(output.shape())), options);
}

namespace {

// The scalar sum(f(xs)) for leaves holding xs on `tape`.
template <class T>
Var<T> total(Tape<T>& tape, const MultiFn<T>& f, std::span<const Var<T>> leaves) {
    TapeScope<T> scope(tape);
    const Var<T> y = f(leaves);
    return y.size() == 1 ? y : sum(y);
}

template <class T>
void check_directions(const std::vector<xt::xarray<T>>& xs, const std::vector<xt::xarray<T>>& vs, const char* op) {
    if (xs.size() != vs.size()) {
        throw ShapeError(fmt::format("{}: {} inputs but {} directions", op, xs.size(), vs.size()));
    }
    for (std::size_t k = 0; k < xs.size(); ++k) {
        if (xs[k].shape() != vs[k].shape()) {
            throw ShapeError(fmt::format("{}: the direction of input {} has shape {}, the input has shape {}", op, k,
                                         to_string(vs[k].shape()), to_string(xs[k].shape())));
        }
    }
}

}  // namespace

template <class T>
std::vector<xt::xarray<T>> hvp(const MultiFn<T>& f, const std::vector<xt::xarray<T>>& xs,
                               const std::vector<xt::xarray<T>>& vs) {
    check_directions(xs, vs, "hvp");
    Tape<T> tape;
    std::vector<Var<T>> leaves;
    for (const auto& x : xs) leaves.push_back(tape.leaf(x));
    const Var<T> y = total(tape, f, std::span<const Var<T>>(leaves));
    const std::vector<Var<T>> g = grad(y, std::span<const Var<T>>(leaves), {.create_graph = true});
    // The sweep from every block of g at once, seeded with v's blocks.
    return tape.gradient_arrays(g, vs, leaves);
}

template <class T>
xt::xarray<T> hvp(const UnaryFn<T>& f, const xt::xarray<T>& x, const xt::xarray<T>& v) {
    const MultiFn<T> g = [&](std::span<const Var<T>> in) { return f(in[0]); };
    return hvp<T>(g, {x}, {v}).front();
}

template <class T>
xt::xarray<T> hessian(const UnaryFn<T>& f, const xt::xarray<T>& x) {
    const std::size_t n = x.size();
    xt::xarray<T> h = xt::zeros<T>({n, n});
    xt::xarray<T> unit = xt::zeros<T>(x.shape());
    for (std::size_t j = 0; j < n; ++j) {
        unit.flat(j) = T(1);
        const xt::xarray<T> column = hvp(f, x, unit);
        for (std::size_t i = 0; i < n; ++i) h(i, j) = column.flat(i);
        unit.flat(j) = T(0);
    }
    return h;
}

template <class T>
xt::xarray<T> jvp(const UnaryFn<T>& f, const xt::xarray<T>& x, const xt::xarray<T>& t) {
    check_directions<T>({x}, {t}, "jvp");
    Tape<T> tape;
    const Var<T> leaf = tape.leaf(x);
    Var<T> y;
    {
        TapeScope<T> scope(tape);
        y = f(leaf);
    }
    // J^T u for a variable u, then its vector-Jacobian product with t.
    const Var<T> u = tape.leaf(xt::zeros<T>(y.shape()));
    const Var<T> vjp = grad(y, std::span<const Var<T>>(&leaf, 1), u, {.create_graph = true}).front();
    return tape.gradient_arrays(std::span(&vjp, 1), {t}, std::span(&u, 1)).front();
}

#define XTAPE_INSTANTIATE(T)                                                                                        \
    template std::vector<Var<T>> grad(std::span<const Var<T>>, std::span<const Var<T>>, std::span<const Var<T>>,    \
                                      GradOptions);                                                                 \
    template std::vector<Var<T>> grad(const Var<T>&, std::span<const Var<T>>, const Var<T>&, GradOptions);          \
    template std::vector<Var<T>> grad(const Var<T>&, std::span<const Var<T>>, GradOptions);                         \
    template std::vector<xt::xarray<T>> hvp(const MultiFn<T>&, const std::vector<xt::xarray<T>>&,                   \
                                            const std::vector<xt::xarray<T>>&);                                     \
    template xt::xarray<T> hvp(const UnaryFn<T>&, const xt::xarray<T>&, const xt::xarray<T>&);                     \
    template xt::xarray<T> hessian(const UnaryFn<T>&, const xt::xarray<T>&);                                        \
    template xt::xarray<T> jvp(const UnaryFn<T>&, const xt::xarray<T>&, const xt::xarray<T>&);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
