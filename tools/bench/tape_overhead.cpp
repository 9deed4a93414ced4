// The tape's own cost: nanoseconds per recorded op on a long chain of tiny ops.
#include "tape_overhead.hpp"

#include "xtape/ops.hpp"

namespace xtape::bench {

double tape_overhead_ns(const TimingPolicy& policy, std::size_t ops) {
    Tape<float> tape;
    TimedStep step;
    step.run = [&tape, ops] {
        const Var<float> x = tape.leaf(xt::xarray<float>{1.0f});
        Var<float> y = x;
        for (std::size_t i = 0; i < ops; ++i) y = i % 2 == 0 ? add(y, x) : mul(y, x);
        tape.backward(y);
        keep(tape.grad_of(x.index()).data());
        tape.clear();
    };
    return median_seconds(step, policy) * 1e9 / static_cast<double>(ops);
}

}  // namespace xtape::bench
