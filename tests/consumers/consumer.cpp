// A user's program: its own loss composed from xtape's primitives, and custom
// primitives with their own backward, checked by xtape::gradcheck and (where
// the backward is also written with Vars) xtape::gradgradcheck.
#include <cstdio>
#include <string>

#include <xtape/xtape.hpp>

// log(cosh(x)), a smooth L1, written as a custom primitive through the same
// Tape::record API the built-in ops use: d log(cosh(x))/dx = tanh(x). The
// backward is given twice: on arrays (what a first-order sweep runs) and on
// Vars (what a create_graph sweep records, so that it can be differentiated
// again).
template <class T>
xtape::Var<T> log_cosh(const xtape::Var<T>& x) {
    xt::xarray<T> value = xt::log(xt::cosh(x.value()));
    return x.tape().record(
        "log_cosh", {x}, std::move(value),
        [](xtape::GradContext<T>& c) { c.accumulate(0, c.grad() * xt::tanh(c.input(0))); },
        [](xtape::VarGradContext<T>& c) { c.accumulate(0, c.grad() * xtape::tanh(c.input(0))); });
}

// The same function with an array backward only: it can be differentiated
// once; a create_graph sweep through it throws, naming it.
template <class T>
xtape::Var<T> log_cosh_first_order(const xtape::Var<T>& x) {
    xt::xarray<T> value = xt::log(xt::cosh(x.value()));
    return x.tape().record("log_cosh_first_order", {x}, std::move(value), [](xtape::GradContext<T>& c) {
        c.accumulate(0, c.grad() * xt::tanh(c.input(0)));
    });
}

// The user's own loss from primitives: mean(log_cosh(pred - label)) per row.
template <class T>
xtape::Var<T> log_cosh_loss(const xtape::Var<T>& pred, const xtape::Var<T>& label) {
    return xtape::mean(log_cosh(pred - label), {1});
}

int main() {
    const xt::xarray<double> pred = {{0.5, -1.0, 2.0}, {0.1, 0.2, -0.3}};
    const xt::xarray<double> label = {{0.0, 1.0, 1.5}, {-0.4, 0.2, 0.3}};
    const xtape::GradcheckFunction loss = [](xtape::Tape<double>&, const std::vector<xtape::Var<double>>& in) {
        return log_cosh_loss(in[0], in[1]);
    };
    const auto first = xtape::gradcheck(loss, {{"pred", pred}, {"label", label}});
    std::printf("consumer gradcheck: %s\n", xtape::to_string(first).c_str());
    const auto second = xtape::gradgradcheck(loss, {{"pred", pred}, {"label", label}});
    std::printf("consumer gradgradcheck: %s\n", xtape::to_string(second).c_str());

    bool refused = false;
    try {
        xtape::Tape<double> tape;
        const auto x = tape.leaf(pred);
        xtape::grad(xtape::sum(log_cosh_first_order(x)), {x}, {.create_graph = true});
    } catch (const xtape::TapeError& e) {
        refused = std::string(e.what()).find("log_cosh_first_order") != std::string::npos;
        std::printf("create_graph through an array-only backward: %s\n", e.what());
    }
    return first.passed && second.passed && refused ? 0 : 1;
}
