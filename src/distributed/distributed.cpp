// Data-parallel training across processes and machines, on MPI (through world.hpp).
#include "xtape/distributed.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "world.hpp"
#include "xtape/errors.hpp"
#include "xtape/shape.hpp"

namespace xtape::distributed {

namespace {
// Every collective needs the other ranks, so the world must be running.
void require_running(const char* operation) {
    if (!world::running()) {
        throw ValueError(fmt::format(
            "distributed::{}: MPI is not running (construct a distributed::Environment first)", operation));
    }
}

// One line per parameter, "'name' (shape)": what must be equal on every rank.
template <class T>
std::vector<std::string> describe(const std::vector<Parameter<T>>& parameters) {
    std::vector<std::string> lines;
    lines.reserve(parameters.size());
    for (const Parameter<T>& p : parameters) lines.push_back(fmt::format("'{}' {}", p.name(), to_string(p.shape())));
    return lines;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    if (text.empty()) return lines;
    std::size_t start = 0;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
        lines.push_back(text.substr(start, end - start));
    }
    lines.push_back(text.substr(start));
    return lines;
}

// How this rank's parameters differ from rank 0's, for the message.
std::string difference(const std::vector<std::string>& mine, const std::vector<std::string>& rank0) {
    if (mine.size() != rank0.size()) return fmt::format("{} parameters, rank 0 has {}", mine.size(), rank0.size());
    for (std::size_t k = 0; k < mine.size(); ++k) {
        if (mine[k] != rank0[k]) return fmt::format("parameter {} {}, rank 0 has {}", k, mine[k], rank0[k]);
    }
    return "parameters named or shaped differently from rank 0's";  // a name holding a newline
}

// Throws ValueError on every rank when some rank's parameters differ from rank
// 0's in number, names or shapes: before any value or gradient is sent, which
// would otherwise mix unrelated arrays or wait for a message that never comes.
template <class T>
void check_same_parameters(const std::vector<Parameter<T>>& parameters, const char* operation) {
    const std::vector<std::string> mine = describe(parameters);
    const std::string own_text = fmt::format("{}", fmt::join(mine, "\n"));
    std::string rank0_text = own_text;
    world::broadcast_from_rank0(rank0_text);
    const bool differs = own_text != rank0_text;
    const std::vector<int> differing = world::gather_all(differs ? 1 : 0);
    std::vector<int> ranks;
    for (std::size_t r = 0; r < differing.size(); ++r) {
        if (differing[r] != 0) ranks.push_back(static_cast<int>(r));
    }
    if (ranks.empty()) return;
    const std::string detail =
        differs ? fmt::format(": rank {} has {}", world::rank(), difference(mine, split_lines(rank0_text))) : "";
    throw ValueError(fmt::format("distributed::{}: the parameters of rank {} differ from rank 0's{} (every rank must "
                                 "build the same model)",
                                 operation, fmt::join(ranks, ", "), detail));
}

// The gradient that backward sent to p's leaf on `tape` (no copy), or nullptr
// when p is not on that tape or no gradient reached it.
template <class T>
const xt::xarray<T>* gradient_on(const Parameter<T>& p, const Tape<T>& tape) {
    return p.tape() == &tape && p.has_grad() ? &p.grad() : nullptr;
}
}  // namespace

bool built_with_mpi() { return world::is_mpi(); }

Environment::Environment() : started_(world::start()) {}

Environment::~Environment() {
    if (started_) world::stop();
}

int rank() {
    require_running("rank");
    return world::rank();
}

int size() {
    require_running("size");
    return world::size();
}

void abort_all(int status) {
    if (world::running()) world::abort_if_several(status);
}

Share share_of(std::size_t n, int rank, int size) {
    if (size < 1 || rank < 0 || rank >= size) {
        throw ValueError(fmt::format("distributed::share_of: rank {} is not in [0, size {})", rank, size));
    }
    const auto ranks = static_cast<std::size_t>(size);
    const auto r = static_cast<std::size_t>(rank);
    const std::size_t base = n / ranks, extra = n % ranks;
    const std::size_t begin = r * base + std::min(r, extra);
    return {begin, begin + base + (r < extra ? 1 : 0)};
}

Share local_share(std::size_t n) { return share_of(n, rank(), size()); }

std::span<const std::size_t> local_share(std::span<const std::size_t> rows) {
    const Share share = local_share(rows.size());
    return rows.subspan(share.begin, share.size());
}

double sum(double value) {
    require_running("sum");
    world::sum_in_place(std::span<double>(&value, 1));
    return value;
}

template <class T>
void broadcast(const std::vector<Parameter<T>>& parameters) {
    require_running("broadcast");
    check_same_parameters(parameters, "broadcast");
    // One message per parameter, straight into its value: this happens once,
    // and a flat buffer would cost a copy of the model.
    for (Parameter<T> p : parameters) world::broadcast_from_rank0(std::span<T>(p.value().data(), p.value().size()));
}

template <class T>
GradientAverager<T>::GradientAverager(std::vector<Parameter<T>> parameters) : parameters_(std::move(parameters)) {
    require_running("GradientAverager");
    check_same_parameters(parameters_, "GradientAverager");
    std::size_t elements = 0;
    gradients_.reserve(parameters_.size());
    for (const Parameter<T>& p : parameters_) {
        gradients_.push_back(xt::zeros<T>(p.shape()));
        elements += p.value().size();
    }
    message_.resize(elements + 1);
}

template <class T>
std::span<const xt::xarray<T>> GradientAverager<T>::average(const Tape<T>& tape, std::size_t samples) {
    require_running("GradientAverager::average");
    auto no_samples = [] {
        return ValueError("distributed::GradientAverager::average: no rank had a sample in this batch");
    };
    if (world::size() == 1) {
        if (samples == 0) throw no_samples();
        for (std::size_t k = 0; k < parameters_.size(); ++k) {
            xt::xarray<T>& out = gradients_[k];
            const xt::xarray<T>* gradient = gradient_on(parameters_[k], tape);
            if (gradient != nullptr) {
                std::copy_n(gradient->data(), out.size(), out.data());
            } else {
                std::fill_n(out.data(), out.size(), T(0));
            }
        }
        return gradients_;
    }
    // Each rank's gradient is that of its mean loss over `samples`: weighted by
    // them, the sum over the ranks is the gradient of the batch's total loss,
    // and the summed weights are the batch's size.
    const auto weight = static_cast<T>(samples);
    T* out = message_.data();
    for (const Parameter<T>& p : parameters_) {
        const std::size_t n = p.value().size();
        if (const xt::xarray<T>* gradient = gradient_on(p, tape)) {
            out = std::transform(gradient->data(), gradient->data() + n, out, [weight](T g) { return weight * g; });
        } else {
            out = std::fill_n(out, n, T(0));
        }
    }
    message_.back() = weight;
    world::sum_in_place(std::span<T>(message_));
    const T total = message_.back();
    if (total == 0) throw no_samples();
    const T* in = message_.data();
    for (xt::xarray<T>& gradient : gradients_) {
        std::transform(in, in + gradient.size(), gradient.data(), [total](T g) { return g / total; });
        in += gradient.size();
    }
    return gradients_;
}

template void broadcast(const std::vector<Parameter<float>>&);
template void broadcast(const std::vector<Parameter<double>>&);
template class GradientAverager<float>;
template class GradientAverager<double>;

}  // namespace xtape::distributed
