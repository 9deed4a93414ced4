// The tape (a Wengert list): variables, recorded nodes and the backward sweep.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xstorage.hpp>

#include "xtape/detail/block_list.hpp"
#include "xtape/detail/closure_arena.hpp"
#include "xtape/errors.hpp"
#include "xtape/shape.hpp"

namespace xtape {

template <class T>
class Tape;
template <class T>
class GradContext;
template <class T>
class VarGradContext;
template <class T>
class Lendable;

/// A handle to one value recorded on a tape: {tape, index, epoch}. Cheap to
/// copy. It stays valid until its tape is cleared or destroyed; using it after
/// `clear()` throws TapeError (using it after the tape is destroyed is undefined,
/// as with any dangling reference).
template <class T>
class Var {
public:
    /// The element type.
    using value_type = T;

    Var() = default;

    /// The value. The reference stays valid until the tape is cleared.
    const xt::xarray<T>& value() const;
    /// The only element of a one-element value (a scalar loss); throws
    /// ShapeError for any other size.
    T item() const;
    /// The gradient accumulated by `backward`; zeros of the value's shape when
    /// no gradient reached this variable.
    xt::xarray<T> grad() const;
    /// True when a backward sweep reached this variable.
    bool has_grad() const;
    /// The gradient as a variable that can be differentiated again, from the
    /// last `backward(root, {.create_graph = true})` that reached this
    /// variable; throws TapeError when none did.
    Var grad_var() const;
    /// True when gradients flow into this variable (a leaf that asked for them, or
    /// a node with such an input).
    bool requires_grad() const;
    /// The value's shape; throws TapeError for a stale or default-constructed handle.
    const Shape& shape() const { return value().shape(); }
    /// The value's number of elements; throws as shape() does.
    std::size_t size() const { return value().size(); }
    /// The value's rank; throws as shape() does.
    std::size_t dimension() const { return value().dimension(); }
    /// Name of the op that made this variable ("leaf" and "constant" for inputs).
    const char* op() const;

    /// The tape that recorded this variable; throws TapeError for a
    /// default-constructed handle.
    Tape<T>& tape() const;
    /// Position of the node on its tape.
    std::uint32_t index() const { return index_; }
    /// True when the handle has a tape, that tape was not cleared since, and
    /// the node exists (never throws).
    bool valid() const;

private:
    friend class Tape<T>;
    friend class VarGradContext<T>;
    Var(Tape<T>* tape, std::uint32_t index, std::uint32_t epoch)
        : tape_(tape), index_(index), epoch_(epoch) {}

    Tape<T>* tape_ = nullptr;
    std::uint32_t index_ = 0;
    std::uint32_t epoch_ = 0;
};

/// The backward function of a node: reads the node's gradient through the
/// context and accumulates into its inputs' gradients.
template <class T>
using BackwardFn = std::function<void(GradContext<T>&)>;

/// The same backward function written with Vars: it reads the node's gradient
/// as a variable and sends each input its gradient by recording ops on the
/// tape, so that the gradient can itself be differentiated (create_graph).
template <class T>
using DifferentiableBackwardFn = std::function<void(VarGradContext<T>&)>;

/// How a backward sweep runs.
struct BackwardOptions {
    /// Records the sweep on the tape, with each node's differentiable backward
    /// function, so that every gradient is also a Var (Var::grad_var) that can
    /// be differentiated again. A node recorded without one makes the sweep
    /// throw TapeError naming it.
    bool create_graph = false;
};

/// The primitives that one node runs at once (a fused program), for drawing
/// the graph: step j applies `op` to its operands, each an input of the node
/// (a position below `inputs`) or the result of an earlier step (inputs + j).
/// The result of step `output` is what the node computes (before the
/// reduction its op name says, for fuse_sum and fuse_mean).
struct Composition {
    /// One primitive of the node.
    struct Step {
        /// The primitive's op name, e.g. "smooth_l1".
        std::string op;
        /// What it reads: the node's inputs below `inputs`, earlier steps from there on.
        std::vector<std::uint32_t> operands;
    };
    /// The number of the node's inputs.
    std::size_t inputs = 0;
    /// The primitives, in evaluation order.
    std::vector<Step> steps;
    /// The operand number (an input or a step) of the node's result.
    std::uint32_t output = 0;
};

/// A tape of nodes in creation order. `backward(root)` walks from the root's
/// index down to 0 and calls the backward function of every node that a
/// gradient reached: no recursion, no topological sort.
///
/// A tape belongs to one thread at a time; two threads with their own tapes
/// never share state.
template <class T>
class Tape {
public:
    Tape() = default;
    Tape(const Tape&) = delete;
    Tape& operator=(const Tape&) = delete;
    /// Gives every borrowed array back to its Lendable.
    ~Tape();

    /// An input whose gradient is wanted (a parameter or a differentiable input).
    /// An array given by reference is copied into the tape's spare storage (see buffer).
    Var<T> leaf(const xt::xarray<T>& value) { return leaf(copy(value)); }
    /// As above, keeping the array given.
    Var<T> leaf(xt::xarray<T>&& value);
    /// A leaf holding `lendable`'s array itself, not a copy, until the next
    /// clear() or the tape's destruction gives it back (see Lendable). Throws
    /// TapeError when the array is already lent to a tape.
    Var<T> borrow(Lendable<T>& lendable);
    /// An input without gradient (a label, a mask turned into numbers). An
    /// array given by reference is copied into the tape's spare storage (see buffer).
    Var<T> constant(const xt::xarray<T>& value) { return constant(copy(value)); }
    /// As above, keeping the array given.
    Var<T> constant(xt::xarray<T>&& value);

    /// Records a node: its op name (a string literal), its inputs (all of this
    /// tape), its value, and how to send its gradient to its inputs (a
    /// callable of GradContext<T>&, a BackwardFn or nullptr). This is the API
    /// every built-in op uses and the one for custom ops. `differentiable` is
    /// the same backward written with Vars (a callable of VarGradContext<T>&,
    /// see VarGradContext): a node without it can be differentiated once, not
    /// twice (a create_graph sweep that reaches it throws, naming its op). When
    /// no input requires a gradient, or gradients are disabled, both are
    /// dropped and the node is a constant. The tape keeps a lambda in storage
    /// of its own until clear() (see closure), so recording allocates nothing
    /// once the same ops have been recorded before. `value` is an array or an
    /// xtensor expression; an array given by rvalue becomes the node's own.
    template <class Value, class Backward, class Differentiable = std::nullptr_t>
        requires std::convertible_to<Value, xt::xarray<T>>
    Var<T> record(const char* op, std::span<const Var<T>> inputs, Value&& value, Backward&& backward,
                  Differentiable&& differentiable = nullptr) {
        const Var<T> out = push_node(op, inputs, as_array(std::forward<Value>(value)), !is_null(backward));
        if (nodes_[out.index_].requires_grad) {
            Node& node = nodes_[out.index_];
            node.backward = closure<void, GradContext<T>&>(std::forward<Backward>(backward));
            node.differentiable = closure<void, VarGradContext<T>&>(std::forward<Differentiable>(differentiable));
        }
        return out;
    }
    /// As above, for a braced list of inputs: `record("mul", {a, b}, value, backward)`.
    template <class Value, class Backward, class Differentiable = std::nullptr_t>
        requires std::convertible_to<Value, xt::xarray<T>>
    Var<T> record(const char* op, std::initializer_list<Var<T>> inputs, Value&& value, Backward&& backward,
                  Differentiable&& differentiable = nullptr) {
        return record(op, std::span<const Var<T>>(inputs.begin(), inputs.size()), std::forward<Value>(value),
                      std::forward<Backward>(backward), std::forward<Differentiable>(differentiable));
    }

    /// Reverse sweep from a single-element root (seed 1). Gradients of leaves
    /// accumulate across calls; intermediate gradients are recomputed each call.
    /// With `options.create_graph`, the sweep is recorded on the tape as well
    /// (see BackwardOptions). Throws ShapeError when the root has more than one element.
    void backward(const Var<T>& root, BackwardOptions options = {});
    /// Reverse sweep with an explicit seed of the root's shape (an array or an
    /// xtensor expression; a template so that `backward(root, {.create_graph =
    /// true})` is never read as a seed).
    template <class Seed>
        requires std::convertible_to<const Seed&, xt::xarray<T>>
    void backward(const Var<T>& root, const Seed& seed, BackwardOptions options = {}) {
        backward_seeded(root, xt::xarray<T>(seed), options);
    }

    /// The gradients of the sum over k of <roots[k], seeds[k]> (each seed a
    /// variable of its root's shape: one sweep from several seeded roots, as
    /// torch.autograd.grad's outputs and grad_outputs) with respect to `wrt`,
    /// as variables recorded on this tape by a differentiable sweep: what
    /// xtape::grad returns. Leaves' gradients are not touched. Nodes at
    /// positions below `floor` are not swept through: their gradients are
    /// collected only (a sweep over a recomposed node's own graph). An element
    /// of `wrt` that the sweep does not reach gets zeros (a constant).
    std::vector<Var<T>> gradients(std::span<const Var<T>> roots, std::span<const Var<T>> seeds,
                                  std::span<const Var<T>> wrt, std::uint32_t floor = 0);
    /// The same for one root.
    std::vector<Var<T>> gradients(const Var<T>& root, const Var<T>& seed, std::span<const Var<T>> wrt,
                                  std::uint32_t floor = 0) {
        return gradients(std::span(&root, 1), std::span(&seed, 1), wrt, floor);
    }
    /// The same gradients as arrays, by the first-order sweep (each node's
    /// array backward, nothing recorded): what xtape::grad returns without
    /// create_graph. The seeds become the roots' gradients (taken, not
    /// copied). No gradient the tape holds changes.
    std::vector<xt::xarray<T>> gradient_arrays(std::span<const Var<T>> roots, std::vector<xt::xarray<T>> seeds,
                                               std::span<const Var<T>> wrt);

    /// Forgets every gradient (values and handles stay valid).
    void zero_grad();
    /// Forgets every node; handles made before become stale (they throw).
    /// The storage of the values and gradients is kept for the next step (see
    /// buffer); borrowed arrays go back to their Lendables.
    void clear();

    /// An uninitialised array of `shape` for an op's value or gradient. Its
    /// storage comes from the values and gradients that the last clear()
    /// released when one of the same size is spare, so a training loop that
    /// records the same shapes every step allocates nothing after its first
    /// step and keeps reusing memory that is still in cache. Spare storage is
    /// kept for one step only: a step that does not reuse it frees it.
    xt::xarray<T> buffer(const Shape& shape);
    /// Keeps `array` until the next clear(), which makes it spare storage
    /// (see buffer): state that a backward function reads, captured by
    /// reference, as a closure's own array would be freed with it.
    xt::xarray<T>& keep(xt::xarray<T>&& array);

    /// Number of nodes recorded since the last clear.
    std::size_t size() const { return size_; }
    /// Incremented by every clear(); part of every handle.
    std::uint32_t epoch() const { return epoch_; }

    /// Whether new nodes record their backward function (see NoGradGuard).
    bool grad_enabled() const { return grad_enabled_; }
    /// Turns recording of backward functions on or off (NoGradGuard does it scoped).
    void set_grad_enabled(bool enabled) { grad_enabled_ = enabled; }

    /// Whether a backward sweep leaves every intermediate node its gradient
    /// (true, the default: Var::grad() of any node reached answers). When
    /// false, ops whose gradient passes to an input unchanged (add, sub) hand
    /// it on instead of copying it, and those intermediate nodes have no
    /// gradient after the sweep; leaves are never affected. Chunked evaluation
    /// runs its scratch tapes this way.
    bool keeps_intermediate_grads() const { return keep_intermediate_grads_; }
    /// Sets keeps_intermediate_grads().
    void set_keep_intermediate_grads(bool keep) { keep_intermediate_grads_ = keep; }

    /// Throws TapeError unless `v` is a live handle of this tape. Inline, as
    /// every op checks its inputs; the throwing part is out of line.
    void check(const Var<T>& v, const char* op = "tape") const {
        if (v.tape_ != this || !v.valid()) [[unlikely]] reject(v, op);
    }

    /// Names `v` for the graph (to_dot): a loss names its inputs by their role
    /// ("pred", "label", "sample_weight"). The names go with clear().
    void set_name(const Var<T>& v, std::string name);
    /// Gives node `v` the primitives it runs (a fused node), described when the
    /// graph is drawn by `describe` (a callable returning a Composition, kept
    /// as record keeps a backward).
    template <class Describe>
    void set_composition(const Var<T>& v, Describe&& describe) {
        check(v, "set_composition");
        nodes_[v.index_].composition = closure<Composition>(std::forward<Describe>(describe));
    }

    // Read access for ops, gradcheck and graph export.
    /// The value of node `index` (unchecked: `index` < size()).
    const xt::xarray<T>& value_of(std::uint32_t index) const { return nodes_[index].value; }
    /// The op name of node `index` (unchecked).
    const char* op_of(std::uint32_t index) const { return nodes_[index].op; }
    /// The input indices of node `index` (unchecked).
    std::span<const std::uint32_t> inputs_of(std::uint32_t index) const {
        const auto& in = nodes_[index].inputs;
        return {in.data(), in.size()};
    }
    /// Whether gradients flow into node `index` (unchecked).
    bool requires_grad_of(std::uint32_t index) const { return nodes_[index].requires_grad; }
    /// Whether a backward sweep reached node `index` (unchecked).
    bool has_grad_of(std::uint32_t index) const { return nodes_[index].has_grad; }
    /// Whether node `index` can be differentiated twice (a leaf, a constant, or
    /// a node with a differentiable backward; unchecked).
    bool differentiable_of(std::uint32_t index) const {
        const Node& node = nodes_[index];
        return !node.backward || node.differentiable;
    }
    /// The gradient stored at node `index`, valid only when has_grad_of(index) (unchecked).
    const xt::xarray<T>& grad_of(std::uint32_t index) const { return grad_array(nodes_[index]); }
    /// The name given to node `index` (set_name), or null (unchecked).
    const std::string* name_of(std::uint32_t index) const;
    /// The primitives node `index` runs (set_composition), or nullopt for a plain node (unchecked).
    std::optional<Composition> composition_of(std::uint32_t index) const;

private:
    friend class GradContext<T>;
    friend class VarGradContext<T>;
    friend class Var<T>;
    friend class Lendable<T>;

    static constexpr std::uint32_t no_node = ~std::uint32_t(0);

    struct Node {
        xt::xarray<T> value;
        xt::xarray<T> grad;  // meaningful only when has_grad
        xt::svector<std::uint32_t, 4> inputs;
        BackwardFn<T> backward;
        DifferentiableBackwardFn<T> differentiable;
        std::function<Composition()> composition;
        std::uint32_t grad_var = no_node;  // the node holding its gradient after a create_graph sweep
        const char* op = "";
        bool requires_grad = false;
        bool has_grad = false;
        // When set (with has_grad), the gradient is this array, another node's
        // value, read but never written (GradContext::accumulate_borrowed).
        const xt::xarray<T>* borrowed_grad = nullptr;
        Lendable<T>* lender = nullptr;  // whose array `value` is, when borrowed
    };

    Var<T> push(const char* op, xt::xarray<T>&& value, bool requires_grad);
    // The value that record() was given, as an array: an array given by rvalue
    // itself (moving an xt::xarray swaps its shape and strides element by
    // element), anything else copied or evaluated.
    template <class Value>
    static decltype(auto) as_array(Value&& value) {
        if constexpr (std::is_same_v<Value, xt::xarray<T>>) {
            return std::move(value);
        } else {
            return xt::xarray<T>(std::forward<Value>(value));
        }
    }
    // Throws the TapeError of check() for `v`.
    [[noreturn]] void reject(const Var<T>& v, const char* op) const;
    // Checks the inputs and pushes the node; it requires a gradient when an
    // input does, gradients are enabled and it has a backward function.
    Var<T> push_node(const char* op, std::span<const Var<T>> inputs, xt::xarray<T>&& value, bool has_backward);
    // A copy of `array` in spare storage.
    xt::xarray<T> copy(const xt::xarray<T>& array);
    // Gives node's gradient an (uninitialised) array of its value's shape, from spare storage.
    xt::xarray<T>& new_grad(Node& node);
    // Gives node the gradient g, its own array (the array it held becomes spare
    // storage; its storage alone moves, as moving a whole array costs more).
    xt::xarray<T>& set_grad(Node& node, xt::xarray<T>&& g) {
        recycle(std::move(node.grad));
        node.grad = std::move(g);
        node.has_grad = true;
        node.borrowed_grad = nullptr;
        return node.grad;
    }
    // Node's gradient (has_grad must hold) as its own array, a borrowed one
    // copied first: before it is changed or moved out.
    xt::xarray<T>& own_grad(Node& node) {
        return node.borrowed_grad != nullptr ? set_grad(node, copy(*node.borrowed_grad)) : node.grad;
    }
    // The gradient node holds (has_grad must hold).
    static const xt::xarray<T>& grad_array(const Node& node) {
        return node.borrowed_grad != nullptr ? *node.borrowed_grad : node.grad;
    }

    template <class F>
    static bool is_null(const F& f) {
        if constexpr (std::is_null_pointer_v<F>) {
            return true;
        } else if constexpr (std::is_constructible_v<bool, const F&>) {
            return !static_cast<bool>(f);  // an empty std::function, a null function pointer
        } else {
            return false;
        }
    }
    // `f` as a std::function<R(Args...)>: a std::function or nullptr as it is,
    // any other callable moved into closures_ and called through a pointer,
    // which std::function stores without allocating.
    template <class R, class... Args, class F>
    std::function<R(Args...)> closure(F&& f) {
        using C = std::remove_cvref_t<F>;
        if constexpr (std::is_null_pointer_v<C> || std::is_same_v<C, std::function<R(Args...)>>) {
            return std::forward<F>(f);
        } else {
            C* kept = closures_.make(std::forward<F>(f));
            return [kept](Args... args) -> R { return (*kept)(std::forward<Args>(args)...); };
        }
    }
    // Makes an array no longer needed (a gradient already added in) spare storage.
    void recycle(xt::xarray<T>&& array);
    // Moves a borrowed value back to its lender.
    void give_back(Node& node);
    // The sweep from `root`, whose gradient gets `seed` (the array itself, when it has none yet).
    void backward_seeded(const Var<T>& root, xt::xarray<T>&& seed, BackwardOptions options);
    void sweep(std::uint32_t root);
    // The reverse sweep with differentiable backward functions, from `roots`
    // (each seeded with its element of `seeds`) down to `floor`: every node's
    // gradient as a variable (invalid where none arrived), by position up to
    // the last root.
    std::vector<Var<T>> differentiable_sweep(std::span<const Var<T>> roots, std::span<const Var<T>> seeds,
                                             std::uint32_t floor);
    // Checks the roots and seeds of a gradient, named `op` in errors; the position after the last root.
    template <class Seed>
    std::uint32_t check_roots(std::span<const Var<T>> roots, std::span<const Seed> seeds, const char* op);
    Var<T> handle(std::uint32_t index) { return Var<T>(this, index, epoch_); }

    // Nodes never move as the tape grows, so references to values stay valid.
    // Nodes past size_ are kept for reuse after clear().
    detail::BlockList<Node> nodes_;
    // The nodes' backward functions (see closure), until clear().
    detail::ClosureArena closures_;
    // The arrays of keep(), until clear(); past kept_count_ moved from.
    detail::BlockList<xt::xarray<T>> kept_;
    std::size_t kept_count_ = 0;
    // Storage released by the last clear(), by element count, for buffer():
    // the arrays' element blocks alone, since moving a whole xt::xarray in
    // and out (its shape, strides and backstrides) costs more than a small
    // malloc (docs/performance.md, 2026-12-06).
    using Storage = typename xt::xarray<T>::storage_type;
    std::unordered_map<std::size_t, std::vector<Storage>> spare_;
    std::unordered_map<std::uint32_t, std::string> names_;
    std::size_t size_ = 0;
    std::uint32_t epoch_ = 1;
    bool grad_enabled_ = true;
    bool keep_intermediate_grads_ = true;
};

// Var's accessors that every op calls, inline now that Tape is complete.

template <class T>
bool Var<T>::valid() const {
    return tape_ != nullptr && tape_->epoch() == epoch_ && index_ < tape_->size();
}

template <class T>
const xt::xarray<T>& Var<T>::value() const {
    if (!valid()) [[unlikely]] tape().check(*this, "Var::value");  // throws TapeError
    return tape_->value_of(index_);
}

/// What a backward function sees: the gradient of its node's output, the
/// values of the output and of the inputs, and where to send gradients.
template <class T>
class GradContext {
public:
    /// dL/d(output), of the output's shape.
    const xt::xarray<T>& grad() const { return Tape<T>::grad_array(tape_.nodes_[node_]); }
    /// The output value.
    const xt::xarray<T>& value() const { return tape_.nodes_[node_].value; }
    /// The value of input k.
    const xt::xarray<T>& input(std::size_t k) const {
        return tape_.nodes_[tape_.nodes_[node_].inputs[k]].value;
    }
    /// An uninitialised array of `shape` from the tape's spare storage (Tape::buffer):
    /// where a backward function builds a gradient before accumulate().
    xt::xarray<T> buffer(const Shape& shape) { return tape_.buffer(shape); }
    /// Keeps `array` until the tape's next clear() (Tape::keep): a scratch
    /// array from buffer() becomes spare storage again rather than freed.
    xt::xarray<T>& keep(xt::xarray<T>&& array) { return tape_.keep(std::move(array)); }
    /// Whether input k wants a gradient; skip its work when it does not.
    bool needs_grad(std::size_t k) const {
        return tape_.nodes_[tape_.nodes_[node_].inputs[k]].requires_grad;
    }

    /// Adds `g` to input k's gradient. `g` may have any shape that broadcasts to
    /// the input's shape from the output side (the output's shape, typically):
    /// it is summed down to the input's shape here, once for every op.
    /// An xtensor expression is evaluated straight into the gradient when the
    /// shapes agree (no temporary).
    template <class E>
    void accumulate(std::size_t k, E&& g);
    /// Makes `array` itself input k's gradient when it has none yet (else adds
    /// it, as accumulate): no copy, no pass. The array must stay as it is until
    /// the tape is cleared (a value on this tape); it is copied only if another
    /// gradient is added to it or it is handed out. dot's gradient v for a seed
    /// of 1 (a Hessian-vector product's <g, v>) is v.
    void accumulate_borrowed(std::size_t k, const xt::xarray<T>& array);
    /// Adds values[i] to element positions[i] (a flat, row-major index) of
    /// input k's gradient: a sparse gradient, such as pick's, costs a pass over
    /// the input only when no other gradient has reached it yet (zeros first).
    void accumulate_at(std::size_t k, std::span<const std::size_t> positions, std::span<const T> values);
    /// As above, with the position of values[i] given by position(i): for an
    /// op that computes its positions rather than keep them.
    template <class Position>
        requires std::invocable<Position&, std::size_t>
    void accumulate_at(std::size_t k, Position&& position, std::span<const T> values) {
        auto& input = tape_.nodes_[tape_.nodes_[node_].inputs[k]];
        if (!input.requires_grad) return;
        if (!input.has_grad) {
            xt::xarray<T>& zeros = tape_.new_grad(input);
            std::fill_n(zeros.data(), zeros.size(), T(0));
        }
        T* grad = tape_.own_grad(input).data();
        for (std::size_t i = 0; i < values.size(); ++i) grad[position(i)] += values[i];
    }
    /// Adds this node's gradient, unchanged, to input k's (d output/d input k =
    /// 1). On a tape that does not keep intermediate gradients the array is
    /// handed over rather than copied: call it after every other use of grad().
    void pass_on(std::size_t k);

private:
    friend class Tape<T>;
    GradContext(Tape<T>& tape, std::uint32_t node) : tape_(tape), node_(node) {}

    // Adds `g`, summed down to input k's shape.
    void accumulate_reduced(std::size_t k, const xt::xarray<T>& g);
    // sum += addend for arrays of one shape, in one vectorised pass (xtensor's
    // += takes half as long again).
    static void add_into(xt::xarray<T>& sum, const xt::xarray<T>& addend);

    Tape<T>& tape_;
    std::uint32_t node_;
};

/// What a differentiable backward function sees (DifferentiableBackwardFn):
/// the node's gradient, output and inputs as variables, and where to send the
/// inputs' gradients, which it computes by recording ops on the tape. A node's
/// derivative written this way can be differentiated again, to any order.
template <class T>
class VarGradContext {
public:
    /// dL/d(output), of the output's shape.
    const Var<T>& grad() const { return grads_[node_]; }
    /// The node itself (its output).
    Var<T> output() const { return tape_.handle(node_); }
    /// Input k.
    Var<T> input(std::size_t k) const { return tape_.handle(tape_.nodes_[node_].inputs[k]); }
    /// The number of inputs.
    std::size_t inputs() const { return tape_.nodes_[node_].inputs.size(); }
    /// Whether input k wants a gradient; skip its work when it does not.
    bool needs_grad(std::size_t k) const { return tape_.nodes_[tape_.nodes_[node_].inputs[k]].requires_grad; }
    /// Adds `g` to input k's gradient (recording the sum). As GradContext's
    /// accumulate, `g` may have any shape that broadcasts to the input's from
    /// the output side: it is summed down to the input's shape here.
    void accumulate(std::size_t k, const Var<T>& g);
    /// Adds element i of this node's gradient at flat (row-major) position
    /// (*positions)[i] of input k's gradient: the gradient of an op that
    /// selects elements (pick, gather, max). Recorded as one copy of the
    /// gradient so far with the additions when there is one, else as a
    /// scatter into zeros.
    void accumulate_at(std::size_t k, std::shared_ptr<const std::vector<std::size_t>> positions);
    /// The tape the backward records on.
    Tape<T>& tape() const { return tape_; }

private:
    friend class Tape<T>;
    VarGradContext(Tape<T>& tape, std::uint32_t node, std::vector<Var<T>>& grads)
        : tape_(tape), node_(node), grads_(grads) {}

    Tape<T>& tape_;
    std::uint32_t node_;
    std::vector<Var<T>>& grads_;
};

template <class T>
template <class E>
void GradContext<T>::accumulate(std::size_t k, E&& g) {
    auto& input = tape_.nodes_[tape_.nodes_[node_].inputs[k]];
    if (!input.requires_grad) return;
    const auto& shape = input.value.shape();
    if constexpr (std::is_same_v<std::decay_t<E>, xt::xarray<T>>) {
        if (g.shape() == shape) {
            if (input.has_grad) {
                add_into(tape_.own_grad(input), g);
                if constexpr (std::is_rvalue_reference_v<E&&>) tape_.recycle(std::move(g));
            } else if constexpr (std::is_rvalue_reference_v<E&&>) {
                tape_.set_grad(input, std::move(g));
            } else {
                std::copy_n(g.data(), g.size(), tape_.new_grad(input).data());
            }
            return;
        }
        accumulate_reduced(k, g);
        if constexpr (std::is_rvalue_reference_v<E&&>) tape_.recycle(std::move(g));
    } else {
        const auto& gs = g.shape();
        if (gs.size() == shape.size() && std::equal(gs.begin(), gs.end(), shape.begin())) {
            if (input.has_grad) {
                xt::noalias(tape_.own_grad(input)) += g;
            } else {
                tape_.new_grad(input) = g;
            }
            return;
        }
        xt::xarray<T> evaluated = tape_.buffer(Shape(gs.begin(), gs.end()));
        xt::noalias(evaluated) = std::forward<E>(g);
        accumulate_reduced(k, evaluated);
        tape_.recycle(std::move(evaluated));
    }
}

/// An array that a tape can borrow as a leaf without copying it: a Parameter's
/// value, which would otherwise be copied into the tape every step. While lent,
/// the array lives in the tape's node (its storage never moves) and get() finds
/// it there; the tape's clear() or destruction moves it back. A Lendable is
/// lent to one tape at a time, and never moves itself (the tape points to it).
template <class T>
class Lendable {
public:
    /// Holds `value` until a tape borrows it.
    explicit Lendable(xt::xarray<T> value) : value_(std::move(value)) {}
    /// When lent, the tape keeps the array as its own until it is cleared.
    ~Lendable();
    Lendable(const Lendable&) = delete;
    Lendable& operator=(const Lendable&) = delete;

    /// The array, wherever it is (in the borrowing tape's node while lent).
    xt::xarray<T>& get();
    /// The array, wherever it is.
    const xt::xarray<T>& get() const;
    /// The tape that holds the array now, or nullptr.
    Tape<T>* borrower() const { return borrower_; }
    /// The leaf holding the array; valid only while borrower() is not null.
    const Var<T>& leaf() const { return leaf_; }
    /// The gradient a backward sweep sent to the leaf, or nullptr when it is not
    /// lent or no gradient reached it.
    xt::xarray<T>* grad();
    /// Takes the array back before the borrower is cleared; the leaf keeps a
    /// copy (from the tape's spare storage), so the tape's handles stay valid.
    void reclaim();

private:
    friend class Tape<T>;
    xt::xarray<T> value_;  // moved out while lent
    Tape<T>* borrower_ = nullptr;
    Var<T> leaf_;
};

/// The tape that `leaf()` and `constant()` use on this thread: by default one
/// tape per thread, or the one a TapeScope selected.
template <class T>
Tape<T>& current_tape();

/// Makes `tape` the current tape of this thread until the scope ends.
template <class T>
class TapeScope {
public:
    /// Makes `tape` this thread's current tape; the destructor restores the previous one.
    explicit TapeScope(Tape<T>& tape);
    ~TapeScope();
    TapeScope(const TapeScope&) = delete;
    TapeScope& operator=(const TapeScope&) = delete;

private:
    Tape<T>* previous_;
};

/// Disables gradient recording on a tape until the scope ends: ops still
/// compute values, but record no backward function. The tape is named, never
/// the thread's current one by default: a guard on a tape the code does not
/// record on would change nothing.
template <class T>
class NoGradGuard {
public:
    /// Disables recording on `tape`; the destructor restores its previous setting.
    explicit NoGradGuard(Tape<T>& tape);
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    Tape<T>& tape_;
    bool previous_;
};

/// A leaf on the current tape.
template <class T>
Var<T> leaf(xt::xarray<T> value) {
    return current_tape<T>().leaf(std::move(value));
}
/// A constant on the current tape.
template <class T>
Var<T> constant(xt::xarray<T> value) {
    return current_tape<T>().constant(std::move(value));
}

}  // namespace xtape
