// Choosing the tile kernels of the widest instruction set this CPU runs.
#include "tile_kernels.hpp"

#include "../kernels/arch_dispatch.hpp"

namespace xtape::detail {

template <class T>
TileKernels<T> best_tile_kernels() {
    TileKernels<T> kernels{};
    xtape::kernels::on_best_arch([&](auto arch) {
        using Chosen = ArchTileKernels<decltype(arch), T>;
        kernels = {&Chosen::apply, &Chosen::derivative, &Chosen::apply_with_slope, &Chosen::times_slope,
                   &Chosen::stream};
    });
    return kernels;
}

template TileKernels<float> best_tile_kernels();
template TileKernels<double> best_tile_kernels();

}  // namespace xtape::detail
