// A user's program: its own loss composed from xtape's primitives, and one
// custom primitive with its own backward, both checked by xtape::gradcheck.
#include <cstdio>

#include <xtape/xtape.hpp>

// log(cosh(x)), a smooth L1, written as a custom primitive through the same
// Tape::record API the built-in ops use: d log(cosh(x))/dx = tanh(x).
template <class T>
xtape::Var<T> log_cosh(const xtape::Var<T>& x) {
    xt::xarray<T> value = xt::log(xt::cosh(x.value()));
    return x.tape().record("log_cosh", {x}, std::move(value), [](xtape::GradContext<T>& c) {
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
    auto result = xtape::gradcheck(
        [](xtape::Tape<double>&, const std::vector<xtape::Var<double>>& in) {
            return log_cosh_loss(in[0], in[1]);
        },
        {{"pred", pred}, {"label", label}});
    std::printf("consumer gradcheck: %s\n", xtape::to_string(result).c_str());
    return result.passed ? 0 : 1;
}
