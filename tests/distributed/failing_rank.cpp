// A trainer whose last rank fails (tests/distributed/expect_failure.py): it
// throws in its first step, or it built another model than the others, while
// they wait for it in a collective call. Through the examples' main wrapper,
// every rank must end with a non-zero status and the failing rank's message,
// never hang. Alone, the process fails as a trainer does: status 1, one line.
#include "common/example.hpp"

using namespace xtape;

static int run(int argc, char** argv) {
    CLI::App app{"Fails on the last rank: 'throw' in the first step, or 'mismatch' (a wider model there)"};
    std::string failure = "throw";
    app.add_option("failure", failure)->check(CLI::IsMember({"throw", "mismatch"}))->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    const bool last = distributed::rank() == distributed::size() - 1;

    Rng rng(1);
    const MLP<float> model({4, failure == "mismatch" && last ? 6U : 5U, 2}, Activation::Relu, rng);
    Adam<float> adam(model.parameters());
    example::DataParallel<float> parallel(model.parameters());
    Tape<float> tape;
    const xt::xarray<float> x = xt::ones<float>({8, 4});
    parallel.step(adam, tape, 8, [&](distributed::Share share) {
        if (last) throw std::runtime_error("the last rank fails on purpose");
        return sum(model(tape.constant(xt::xarray<float>(xt::view(x, xt::range(share.begin, share.end))))));
    });
    return 0;
}

int main(int argc, char** argv) {
    return example::main_reporting_errors(argc, argv, run);
}
