// Gradient rows computed with a row-wise node's value, handed over by its first backward.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>

#include <xtensor/xstorage.hpp>

#include "xtape/tape.hpp"

#include "kernels/reduction.hpp"

namespace xtape::detail {

/// A node whose output row r depends on row r of its inputs alone (a row
/// reduction, a loss per sample) can compute each row's gradient
/// d out_r / d input (seed 1) in the pass that computes its value, and read
/// its inputs once. GradientRows keeps those arrays until the node's first
/// backward, which scales row r by the incoming g_r in place (a row whose g_r
/// is 1 is left unread) and hands the arrays over as the inputs' gradients:
/// no second array, no second pass. A later backward finds them gone and
/// recomputes. Used by logsumexp, fuse_sum/fuse_mean and chunked evaluation.
/// The arrays are the tape's (Tape::keep) until it is cleared, so that a
/// GradientRows is a few pointers, copied into a backward function's closure
/// (fuse_sum's differentiable backward has a copy too, and takes them as the
/// values of the gradients it records). An array handed over is moved out of
/// the tape's keeping, which leaves it without data: so every copy sees it gone.
template <class T>
class GradientRows {
public:
    explicit GradientRows(std::size_t inputs) : rows_(inputs, nullptr) {}

    /// Keeps `rows`, of input k's shape, on `tape` as input k's gradient rows.
    void keep(Tape<T>& tape, std::size_t k, xt::xarray<T>&& rows) { rows_[k] = &tape.keep(std::move(rows)); }
    /// The array kept for input k (for the pass that fills it).
    xt::xarray<T>& rows(std::size_t k) { return *rows_[k]; }

    /// When every input that wants a gradient has its rows here, scales them by
    /// the node's incoming gradient (one value per output row), adds them to
    /// the inputs' gradients and returns true; otherwise (rows taken by an
    /// earlier backward) returns false, and the caller recomputes.
    bool hand_over(GradContext<T>& c) {
        for (std::size_t k = 0; k < rows_.size(); ++k) {
            if (rows_[k] && c.needs_grad(k) && taken(k)) return false;
        }
        const xt::xarray<T>& g = c.grad();
        for (std::size_t k = 0; k < rows_.size(); ++k) {
            if (!rows_[k] || !c.needs_grad(k)) continue;
            scale(k, g);
            c.accumulate(k, std::move(*rows_[k]));
        }
        return true;
    }

    /// Input k's rows scaled by `g` (one value per output row), moved out as
    /// the value of a gradient recorded as a node (create_graph); nullopt when
    /// none are kept for input k or a backward has taken them.
    std::optional<xt::xarray<T>> take(std::size_t k, const xt::xarray<T>& g) const {
        if (!rows_[k] || taken(k)) return std::nullopt;
        scale(k, g);
        return std::move(*rows_[k]);
    }

private:
    bool taken(std::size_t k) const { return rows_[k]->data() == nullptr; }  // moved from (or empty: recomputed)
    void scale(std::size_t k, const xt::xarray<T>& g) const {
        xt::xarray<T>& rows = *rows_[k];
        if (g.size() > 0) kernels::scale_rows_in_place(g.data(), g.size(), rows.size() / g.size(), rows.data());
    }

    xt::svector<xt::xarray<T>*, 4> rows_;  // null where none are kept (no array allocated)
};

}  // namespace xtape::detail
