// The tape: recording nodes, the reverse sweep, and the thread-local current tape.
#include "xtape/tape.hpp"

#include <algorithm>
#include <utility>

#include <xtensor/xstrides.hpp>

#include <fmt/format.h>

#include "xtape/detail/sum_to.hpp"
#include "xtape/ops.hpp"

#include "kernels/simd_loop.hpp"
#include "ops/differentiable.hpp"

namespace xtape {

namespace {
// Puts a flag back as it was when the scope ends, by an exception too.
struct RestoreOnExit {
    explicit RestoreOnExit(bool& flag) : flag(flag), saved(flag) {}
    RestoreOnExit(const RestoreOnExit&) = delete;
    RestoreOnExit& operator=(const RestoreOnExit&) = delete;
    ~RestoreOnExit() { flag = saved; }
    bool& flag;
    bool saved;
};
}  // namespace

// ---- Var -------------------------------------------------------------------

template <class T>
Tape<T>& Var<T>::tape() const {
    if (tape_ == nullptr) throw TapeError("Var: use of a default-constructed variable (no tape)");
    return *tape_;
}

template <class T>
T Var<T>::item() const {
    const xt::xarray<T>& v = value();
    if (v.size() != 1) {
        throw ShapeError(fmt::format("Var::item: the value of shape {} has {} elements, not one", to_string(v.shape()),
                                     v.size()));
    }
    return v.flat(0);
}

template <class T>
bool Var<T>::has_grad() const {
    tape().check(*this, "Var::has_grad");
    return tape_->has_grad_of(index_);
}

template <class T>
bool Var<T>::requires_grad() const {
    tape().check(*this, "Var::requires_grad");
    return tape_->requires_grad_of(index_);
}

template <class T>
xt::xarray<T> Var<T>::grad() const {
    tape().check(*this, "Var::grad");
    if (tape_->has_grad_of(index_)) return tape_->grad_of(index_);
    return xt::zeros<T>(tape_->value_of(index_).shape());
}

template <class T>
Var<T> Var<T>::grad_var() const {
    tape().check(*this, "Var::grad_var");
    const std::uint32_t at = tape_->nodes_[index_].grad_var;
    if (at == Tape<T>::no_node) {
        throw TapeError(fmt::format("Var::grad_var: no backward sweep with create_graph reached variable #{} ({})",
                                    index_, tape_->op_of(index_)));
    }
    return Var<T>(tape_, at, epoch_);
}

template <class T>
const char* Var<T>::op() const {
    tape().check(*this, "Var::op");
    return tape_->op_of(index_);
}

// ---- Tape ------------------------------------------------------------------

template <class T>
void Tape<T>::reject(const Var<T>& v, const char* op) const {
    if (v.tape_ != this) {
        throw TapeError(fmt::format("{}: variable #{} belongs to another tape", op, v.index_));
    }
    throw TapeError(fmt::format("{}: stale variable #{} (made before the tape was cleared: epoch {}, tape is at {})",
                                op, v.index_, v.epoch_, epoch_));
}

template <class T>
Var<T> Tape<T>::push(const char* op, xt::xarray<T>&& value, bool requires_grad) {
    if (size_ == nodes_.capacity()) nodes_.grow();
    Node& node = nodes_[size_];
    node.value = std::move(value);
    node.inputs.clear();
    node.backward = nullptr;
    node.differentiable = nullptr;
    node.composition = nullptr;
    node.grad_var = no_node;
    node.op = op;
    node.requires_grad = requires_grad;
    node.has_grad = false;
    node.borrowed_grad = nullptr;
    node.lender = nullptr;
    return Var<T>(this, static_cast<std::uint32_t>(size_++), epoch_);
}

template <class T>
Tape<T>::~Tape() {
    for (std::size_t i = 0; i < size_; ++i) {
        if (nodes_[i].lender != nullptr) give_back(nodes_[i]);
    }
}

template <class T>
Var<T> Tape<T>::borrow(Lendable<T>& lendable) {
    if (lendable.borrower_ != nullptr) {
        throw TapeError(fmt::format("borrow: the array is already lent to a tape (as its variable #{})",
                                    lendable.leaf_.index()));
    }
    const Var<T> leaf = push("leaf", std::move(lendable.value_), true);
    nodes_[leaf.index_].lender = &lendable;
    lendable.borrower_ = this;
    lendable.leaf_ = leaf;
    return leaf;
}

template <class T>
void Tape<T>::give_back(Node& node) {
    Lendable<T>& lender = *node.lender;
    lender.value_ = std::move(node.value);
    lender.borrower_ = nullptr;
    node.lender = nullptr;
}

template <class T>
Var<T> Tape<T>::leaf(xt::xarray<T>&& value) {
    return push("leaf", std::move(value), true);
}

template <class T>
Var<T> Tape<T>::constant(xt::xarray<T>&& value) {
    return push("constant", std::move(value), false);
}

template <class T>
xt::xarray<T> Tape<T>::copy(const xt::xarray<T>& array) {
    xt::xarray<T> out = buffer(array.shape());
    std::copy_n(array.data(), array.size(), out.data());
    return out;
}

template <class T>
Var<T> Tape<T>::push_node(const char* op, std::span<const Var<T>> inputs, xt::xarray<T>&& value,
                          bool has_backward) {
    bool requires_grad = false;
    for (const Var<T>& in : inputs) {
        check(in, op);
        requires_grad = requires_grad || nodes_[in.index_].requires_grad;
    }
    requires_grad = requires_grad && grad_enabled_ && has_backward;
    Var<T> out = push(op, std::move(value), requires_grad);
    if (requires_grad) {
        Node& node = nodes_[out.index_];
        for (const Var<T>& in : inputs) node.inputs.push_back(in.index_);
    }
    return out;
}

template <class T>
void Tape<T>::backward(const Var<T>& root, BackwardOptions options) {
    check(root, "backward");
    const auto& value = nodes_[root.index_].value;
    if (value.size() != 1) {
        throw ShapeError(fmt::format(
            "backward: root of shape {} is not a single element; pass a seed of that shape",
            to_string(value.shape())));
    }
    xt::xarray<T> seed = buffer(value.shape());
    seed.fill(T(1));
    backward_seeded(root, std::move(seed), options);
}

template <class T>
void Tape<T>::backward_seeded(const Var<T>& root, xt::xarray<T>&& seed, BackwardOptions options) {
    check(root, "backward");
    if (seed.shape() != nodes_[root.index_].value.shape()) {
        throw ShapeError(fmt::format("backward: seed of shape {} does not match root of shape {}",
                                     to_string(seed.shape()), to_string(nodes_[root.index_].value.shape())));
    }
    if (!nodes_[root.index_].requires_grad) return recycle(std::move(seed));
    // Intermediate gradients belong to one sweep; leaves keep accumulating.
    for (std::uint32_t i = 0; i <= root.index_; ++i) {
        if (nodes_[i].backward) nodes_[i].has_grad = false;
    }
    if (!options.create_graph) {
        Node& node = nodes_[root.index_];
        if (node.has_grad) {
            xt::noalias(own_grad(node)) += seed;
            recycle(std::move(seed));
        } else {
            set_grad(node, std::move(seed));
        }
        return sweep(root.index_);
    }
    const Var<T> seed_var = constant(std::move(seed));
    const std::vector<Var<T>> grads = differentiable_sweep(std::span(&root, 1), std::span(&seed_var, 1), 0);
    // Every node reached keeps its gradient as a variable and, as after a
    // first-order sweep, as an array (accumulated for leaves).
    for (std::uint32_t i = 0; i < grads.size(); ++i) {
        if (!grads[i].valid() || !nodes_[i].requires_grad) continue;
        Node& node = nodes_[i];
        node.grad_var = grads[i].index_;
        const xt::xarray<T>& g = nodes_[grads[i].index_].value;
        if (node.has_grad) {
            GradContext<T>::add_into(own_grad(node), g);
        } else {
            set_grad(node, copy(g));
        }
    }
}

template <class T>
void Tape<T>::sweep(std::uint32_t root) {
    for (std::uint32_t i = root + 1; i-- > 0;) {
        Node& node = nodes_[i];
        if (!node.has_grad || !node.backward) continue;
        GradContext<T> context(*this, i);
        node.backward(context);
    }
}

template <class T>
std::vector<Var<T>> Tape<T>::differentiable_sweep(std::span<const Var<T>> roots, std::span<const Var<T>> seeds,
                                                  std::uint32_t floor) {
    // The sweep records ops, so recording must be on; the nodes it adds lie
    // above the roots (nodes never move, so the references below stay valid).
    const RestoreOnExit restore{grad_enabled_};
    grad_enabled_ = true;
    std::uint32_t end = 0;
    for (const Var<T>& root : roots) end = std::max(end, root.index_ + 1);
    std::vector<Var<T>> grads(end);
    for (std::size_t k = 0; k < roots.size(); ++k) {
        Var<T>& g = grads[roots[k].index_];
        g = g.valid() ? g + seeds[k] : seeds[k];
    }
    for (std::uint32_t i = end; i-- > floor;) {
        Node& node = nodes_[i];
        if (!grads[i].valid() || !node.backward) continue;
        if (!node.differentiable) {
            throw TapeError(fmt::format(
                "backward with create_graph: op '{}' (node #{}) has only a first-order backward; it cannot "
                "be differentiated twice (record it with a differentiable backward)", node.op, i));
        }
        VarGradContext<T> context(*this, i, grads);
        node.differentiable(context);
    }
    return grads;
}

template <class T>
template <class Seed>
std::uint32_t Tape<T>::check_roots(std::span<const Var<T>> roots, std::span<const Seed> seeds, const char* op) {
    if (roots.size() != seeds.size()) {
        throw ShapeError(fmt::format("{}: {} outputs but {} seeds", op, roots.size(), seeds.size()));
    }
    std::uint32_t end = 0;
    for (std::size_t k = 0; k < roots.size(); ++k) {
        check(roots[k], op);
        if constexpr (std::is_same_v<Seed, Var<T>>) check(seeds[k], op);
        if (seeds[k].shape() != roots[k].shape()) {
            throw ShapeError(fmt::format("{}: seed {} of shape {} does not match output {} of shape {}", op, k,
                                         to_string(seeds[k].shape()), k, to_string(roots[k].shape())));
        }
        end = std::max(end, roots[k].index_ + 1);
    }
    return end;
}

template <class T>
std::vector<Var<T>> Tape<T>::gradients(std::span<const Var<T>> roots, std::span<const Var<T>> seeds,
                                       std::span<const Var<T>> wrt, std::uint32_t floor) {
    check_roots(roots, seeds, "grad");
    for (const Var<T>& x : wrt) check(x, "grad");
    // Roots that no gradient flows into contribute nothing.
    std::vector<Var<T>> live_roots, live_seeds;
    for (std::size_t k = 0; k < roots.size(); ++k) {
        if (!nodes_[roots[k].index_].requires_grad) continue;
        live_roots.push_back(roots[k]);
        live_seeds.push_back(seeds[k]);
    }
    const std::vector<Var<T>> grads = differentiable_sweep(live_roots, live_seeds, floor);
    std::vector<Var<T>> result;
    result.reserve(wrt.size());
    for (const Var<T>& x : wrt) {
        const bool reached = x.index_ < grads.size() && grads[x.index_].valid();
        result.push_back(reached ? grads[x.index_] : constant(xt::zeros<T>(x.shape())));
    }
    return result;
}

template <class T>
std::vector<xt::xarray<T>> Tape<T>::gradient_arrays(std::span<const Var<T>> roots, std::vector<xt::xarray<T>> seeds,
                                                    std::span<const Var<T>> wrt) {
    const std::uint32_t end = check_roots(roots, std::span<const xt::xarray<T>>(seeds), "grad");
    for (const Var<T>& x : wrt) check(x, "grad");
    // The gradients the tape holds are set aside for this sweep's and put back
    // after it, also when a backward function throws.
    std::vector<std::pair<std::uint32_t, xt::xarray<T>>> held;
    for (std::uint32_t i = 0; i < end; ++i) {
        Node& node = nodes_[i];
        if (!node.has_grad) continue;
        held.emplace_back(i, std::move(own_grad(node)));
        node.has_grad = false;
    }
    struct PutBack {
        Tape& tape;
        std::uint32_t end;
        std::vector<std::pair<std::uint32_t, xt::xarray<T>>>& held;
        ~PutBack() {
            for (std::uint32_t i = 0; i < end; ++i) {
                Node& node = tape.nodes_[i];
                if (node.has_grad) tape.recycle(std::move(node.grad));
                node.has_grad = false;
            }
            for (auto& [i, grad] : held) tape.set_grad(tape.nodes_[i], std::move(grad));
        }
    } put_back{*this, end, held};
    for (std::size_t k = 0; k < roots.size(); ++k) {
        Node& top = nodes_[roots[k].index_];
        if (!top.requires_grad) continue;
        if (top.has_grad) {
            xt::noalias(own_grad(top)) += seeds[k];  // a root given twice
            recycle(std::move(seeds[k]));
        } else {
            set_grad(top, std::move(seeds[k]));
        }
    }
    // The intermediate gradients are dropped after this sweep: an op may hand
    // its gradient on instead of copying it (GradContext::pass_on), unless an
    // input asked for is itself computed, whose gradient must stay.
    const bool all_leaves =
        std::all_of(wrt.begin(), wrt.end(), [&](const Var<T>& x) { return !nodes_[x.index_].backward; });
    const RestoreOnExit restore_keep{keep_intermediate_grads_};
    if (all_leaves) keep_intermediate_grads_ = false;
    if (end > 0) sweep(end - 1);
    std::vector<xt::xarray<T>> result;
    result.reserve(wrt.size());
    for (std::size_t k = 0; k < wrt.size(); ++k) {
        const std::uint32_t i = wrt[k].index_;
        const auto earlier = std::find_if(wrt.begin(), wrt.begin() + static_cast<std::ptrdiff_t>(k),
                                          [i](const Var<T>& x) { return x.index_ == i; });
        if (earlier != wrt.begin() + static_cast<std::ptrdiff_t>(k)) {
            result.push_back(result[static_cast<std::size_t>(earlier - wrt.begin())]);  // an input given twice
        } else if (i < end && nodes_[i].has_grad) {
            result.push_back(std::move(own_grad(nodes_[i])));
            nodes_[i].has_grad = false;
        } else {
            result.push_back(xt::zeros<T>(wrt[k].shape()));  // not reached
        }
    }
    return result;
}

template <class T>
void Tape<T>::zero_grad() {
    for (std::size_t i = 0; i < size_; ++i) nodes_[i].has_grad = false;
}

template <class T>
void Tape<T>::clear() {
    // Storage this step did not reuse is freed (and a size left with none is
    // forgotten); this step's, kept arrays included, becomes the spare storage
    // of the next. Captured state is released now; the closures' blocks are
    // kept. A tape cleared twice in a row keeps its spare storage (chunked
    // evaluation clears its scratch tapes when returning them and again when
    // reusing them).
    if (size_ == 0) return;
    for (auto& [count, arrays] : spare_) arrays.clear();
    for (std::size_t i = 0; i < size_; ++i) {
        Node& node = nodes_[i];
        if (node.lender != nullptr) give_back(node);
        recycle(std::move(node.value));
        recycle(std::move(node.grad));
        node.backward = nullptr;
        node.differentiable = nullptr;
        node.composition = nullptr;
    }
    closures_.clear();
    for (std::size_t i = 0; i < kept_count_; ++i) recycle(std::move(kept_[i]));
    kept_count_ = 0;
    std::erase_if(spare_, [](const auto& entry) { return entry.second.empty(); });
    names_.clear();
    size_ = 0;
    ++epoch_;
}

template <class T>
void Tape<T>::set_name(const Var<T>& v, std::string name) {
    check(v, "set_name");
    names_[v.index_] = std::move(name);
}

template <class T>
const std::string* Tape<T>::name_of(std::uint32_t index) const {
    const auto it = names_.find(index);
    return it == names_.end() ? nullptr : &it->second;
}

template <class T>
std::optional<Composition> Tape<T>::composition_of(std::uint32_t index) const {
    const auto& describe = nodes_[index].composition;
    if (!describe) return std::nullopt;
    return describe();
}

template <class T>
void Tape<T>::recycle(xt::xarray<T>&& array) {
    const std::size_t count = array.size();
    if (count != 0) spare_[count].push_back(std::move(array.storage()));  // an array moved from has none
}

template <class T>
xt::xarray<T>& Tape<T>::keep(xt::xarray<T>&& array) {
    if (kept_count_ == kept_.capacity()) kept_.grow();
    xt::xarray<T>& kept = kept_[kept_count_++];
    kept = std::move(array);
    return kept;
}

template <class T>
xt::xarray<T>& Tape<T>::new_grad(Node& node) {
    const Shape& shape = node.value.shape();
    if (node.grad.size() != node.value.size()) node.grad = buffer(shape);
    node.grad.reshape(shape);
    node.has_grad = true;
    node.borrowed_grad = nullptr;
    return node.grad;
}

namespace {

// An array of `shape` over `storage` (of as many elements), built without
// moving an xt::svector: a move swaps it element by element (with calls of
// memset and memcpy), while the array built over empty ones and reshaped
// copies the shape once. A single return, so the caller's array is this one.
template <class T>
xt::xarray<T> over_storage(typename xt::xarray<T>::storage_type&& storage, const Shape& shape) {
    xt::xarray<T> array(std::move(storage), {}, {});
    array.reshape(shape);
    return array;
}

}  // namespace

template <class T>
xt::xarray<T> Tape<T>::buffer(const Shape& shape) {
    const auto spare = spare_.find(element_count(shape));
    if (spare == spare_.end() || spare->second.empty()) return xt::empty<T>(shape);
    Storage storage = std::move(spare->second.back());
    spare->second.pop_back();
    return over_storage<T>(std::move(storage), shape);
}

// ---- Lendable --------------------------------------------------------------

template <class T>
Lendable<T>::~Lendable() {
    if (borrower_ != nullptr) borrower_->nodes_[leaf_.index()].lender = nullptr;
}

template <class T>
xt::xarray<T>& Lendable<T>::get() {
    return borrower_ != nullptr ? borrower_->nodes_[leaf_.index()].value : value_;
}

template <class T>
const xt::xarray<T>& Lendable<T>::get() const {
    return borrower_ != nullptr ? borrower_->nodes_[leaf_.index()].value : value_;
}

template <class T>
xt::xarray<T>* Lendable<T>::grad() {
    if (borrower_ == nullptr) return nullptr;
    auto& node = borrower_->nodes_[leaf_.index()];
    return node.has_grad ? &borrower_->own_grad(node) : nullptr;
}

template <class T>
void Lendable<T>::reclaim() {
    if (borrower_ == nullptr) return;
    auto& node = borrower_->nodes_[leaf_.index()];
    xt::xarray<T> copy = borrower_->buffer(node.value.shape());
    std::copy_n(node.value.data(), node.value.size(), copy.data());
    value_ = std::exchange(node.value, std::move(copy));
    node.lender = nullptr;
    borrower_ = nullptr;
}

// ---- GradContext -----------------------------------------------------------

template <class T>
void GradContext<T>::accumulate_reduced(std::size_t k, const xt::xarray<T>& g) {
    auto& input = tape_.nodes_[tape_.nodes_[node_].inputs[k]];
    xt::xarray<T> reduced = tape_.buffer(input.value.shape());
    detail::sum_to(g, reduced, tape_.nodes_[node_].op);
    if (input.has_grad) {
        add_into(tape_.own_grad(input), reduced);
        tape_.recycle(std::move(reduced));
    } else {
        tape_.set_grad(input, std::move(reduced));
    }
}

template <class T>
void GradContext<T>::accumulate_at(std::size_t k, std::span<const std::size_t> positions,
                                   std::span<const T> values) {
    accumulate_at(k, [positions](std::size_t i) { return positions[i]; }, values.first(positions.size()));
}

template <class T>
void GradContext<T>::accumulate_borrowed(std::size_t k, const xt::xarray<T>& array) {
    auto& input = tape_.nodes_[tape_.nodes_[node_].inputs[k]];
    if (!input.requires_grad) return;
    if (input.has_grad || array.shape() != input.value.shape()) return accumulate(k, array);
    input.borrowed_grad = &array;
    input.has_grad = true;
}

template <class T>
void GradContext<T>::pass_on(std::size_t k) {
    auto& node = tape_.nodes_[node_];
    if (node.borrowed_grad != nullptr) return accumulate_borrowed(k, *node.borrowed_grad);
    if (tape_.keep_intermediate_grads_ || !needs_grad(k)) return accumulate(k, node.grad);
    node.has_grad = false;  // handed over: this node's gradient is no longer here
    accumulate(k, std::move(node.grad));
}

template <class T>
void GradContext<T>::add_into(xt::xarray<T>& sum, const xt::xarray<T>& addend) {
    using B = kernels::Batch<T>;
    kernels::map(sum.size(), sum.data(), [](B s, B a) { return s + a; }, sum.data(), addend.data());
}

// ---- VarGradContext --------------------------------------------------------

template <class T>
void VarGradContext<T>::accumulate(std::size_t k, const Var<T>& g) {
    const std::uint32_t at = tape_.nodes_[node_].inputs[k];
    if (!tape_.nodes_[at].requires_grad) return;
    const Shape& target = tape_.nodes_[at].value.shape();
    const AxisList axes = detail::broadcast_axes(g.shape(), target, tape_.nodes_[node_].op);
    // Summed over the axes it was broadcast along, then given the input's shape.
    const Var<T> reduced = axes.empty() ? g : reshape(sum(g, Axes(axes.begin(), axes.end())), target);
    Var<T>& sum_so_far = grads_[at];
    sum_so_far = sum_so_far.valid() ? add(sum_so_far, reduced) : reduced;
}

template <class T>
void VarGradContext<T>::accumulate_at(std::size_t k, std::shared_ptr<const std::vector<std::size_t>> positions) {
    const std::uint32_t at = tape_.nodes_[node_].inputs[k];
    if (!tape_.nodes_[at].requires_grad) return;
    Var<T>& sum_so_far = grads_[at];
    const Shape& shape = tape_.nodes_[at].value.shape();
    sum_so_far = sum_so_far.valid() ? detail::add_at(sum_so_far, grad(), std::move(positions))
                                    : detail::scatter_flat(grad(), std::move(positions), shape);
}

// ---- current tape and guards -----------------------------------------------

namespace {
template <class T>
Tape<T>*& current_tape_pointer() {
    thread_local Tape<T>* current = nullptr;
    return current;
}
}  // namespace

template <class T>
Tape<T>& current_tape() {
    thread_local Tape<T> default_tape;
    Tape<T>* current = current_tape_pointer<T>();
    return current != nullptr ? *current : default_tape;
}

template <class T>
TapeScope<T>::TapeScope(Tape<T>& tape) : previous_(current_tape_pointer<T>()) {
    current_tape_pointer<T>() = &tape;
}

template <class T>
TapeScope<T>::~TapeScope() {
    current_tape_pointer<T>() = previous_;
}

template <class T>
NoGradGuard<T>::NoGradGuard(Tape<T>& tape) : tape_(tape), previous_(tape.grad_enabled()) {
    tape_.set_grad_enabled(false);
}

template <class T>
NoGradGuard<T>::~NoGradGuard() {
    tape_.set_grad_enabled(previous_);
}

#define XTAPE_INSTANTIATE(T)                      \
    template class Var<T>;                        \
    template class Lendable<T>;                   \
    template class Tape<T>;                       \
    template class GradContext<T>;                \
    template class VarGradContext<T>;             \
    template class TapeScope<T>;                  \
    template class NoGradGuard<T>;                \
    template Tape<T>& current_tape<T>();

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
