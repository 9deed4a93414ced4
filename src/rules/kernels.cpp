// Choosing the elementwise kernels of the widest instruction set this CPU runs,
// and the domain checks of the primitives' scalars.
#include "kernels.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"

#include "../kernels/arch_dispatch.hpp"

namespace xtape::rules {

template <class T>
const Kernels<T>& best_kernels() {
    static const Kernels<T> chosen = [] {
        Kernels<T> kernels{};
        xtape::kernels::on_best_arch([&](auto arch) {
            using Chosen = ArchKernels<decltype(arch), T>;
            kernels = {&Chosen::apply, &Chosen::derivative, &Chosen::apply_with_slope, &Chosen::times_slope,
                       &Chosen::stream};
        });
        return kernels;
    }();
    return chosen;
}

template const Kernels<float>& best_kernels();
template const Kernels<double>& best_kernels();

void check_scalars(Op op, Scalars s) {
    if (op == Op::smooth_l1 && !(s.first > 0)) {
        throw ValueError(fmt::format("smooth_l1: rho must be positive, got {}", s.first));
    }
    if (op == Op::clip && !(s.first <= s.second)) {
        throw ValueError(fmt::format("clip: lo = {} is greater than hi = {}", s.first, s.second));
    }
}

}  // namespace xtape::rules
