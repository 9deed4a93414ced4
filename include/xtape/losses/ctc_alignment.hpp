// The label side of CTC: its inputs checked, extended labels with blanks, allowed skips, feasibility.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <xtensor/xarray.hpp>

#include "xtape/shape.hpp"

namespace xtape {

/// Where the batch and time axes of CTC's activations are: (N,T,C) or (T,N,C).
enum class CtcLayout { NTC, TNC };
/// Where the batch and position axes of CTC's labels are: (N,L) or (L,N).
enum class CtcLabelLayout { NT, TN };

/// "NTC" or "TNC"; throws ValueError naming CTCLoss otherwise.
CtcLayout parse_ctc_layout(std::string_view layout);
/// "NT" or "TN"; throws ValueError naming CTCLoss otherwise.
CtcLabelLayout parse_ctc_label_layout(std::string_view label_layout);

/// One batch of CTC targets, checked and laid out for the recursions.
///
/// Sample n with label l = (l_1..l_L) runs over the extended label
/// l' = (blank, l_1, blank, l_2, ..., blank, l_L, blank) of S_n = 2 L_n + 1
/// states. From state s a path may stay (s), advance (s+1), or skip a blank
/// (s+2) when l'_{s+2} is a label different from l'_s. Rows are padded with
/// blanks to the common width `states`; padded states never feed back into
/// real ones, because every move goes forward.
struct CtcAlignment {
    std::size_t batch = 0;    ///< N
    std::size_t frames = 0;   ///< T, the frames of the activations
    std::size_t classes = 0;  ///< C; the blank is channel C-1
    std::size_t states = 1;   ///< S = 2 max_n L_n + 1, the width of every row below
    /// The axes of the activations.
    CtcLayout layout = CtcLayout::NTC;
    std::vector<std::size_t> frame_counts;   ///< T_n: sample n uses frames 0..T_n-1
    std::vector<std::size_t> label_lengths;  ///< L_n
    std::vector<std::int64_t> extended;      ///< (N, S) row-major: l'_s, blank past 2 L_n
    std::vector<std::uint8_t> can_skip;      ///< (N, S): state s may be entered from s-2
    /// Per sample: L_n plus the adjacent repeats of l fit into T_n frames. An
    /// infeasible sample has probability 0; CTCLoss gives it loss 0, gradient 0.
    std::vector<std::uint8_t> feasible;

    /// The blank class, C-1.
    std::int64_t blank() const { return static_cast<std::int64_t>(classes) - 1; }
    /// S_n = 2 L_n + 1, the real states of sample n.
    std::size_t states_of(std::size_t n) const { return 2 * label_lengths[n] + 1; }
    /// Whether any sample stops before the last frame.
    bool has_short_samples() const;
    /// Whether sample n's loss is computed (feasible and at least one frame); the
    /// others give 0: infeasible ones by convention, empty ones with no frames exactly.
    bool contributes(std::size_t n) const { return feasible[n] && frame_counts[n] > 0; }
};

/// The frames a label needs: its length plus its adjacent repeats (a blank must
/// separate two equal labels).
std::size_t ctc_min_frames(std::span<const std::int64_t> label);

/// Lays out already checked labels (values in [0, C-2]) and frame counts (<= frames).
CtcAlignment make_ctc_alignment(const std::vector<std::vector<std::int64_t>>& labels,
                                const std::vector<std::size_t>& frame_counts, std::size_t frames,
                                std::size_t classes, CtcLayout layout);

/// Where CTC's blank is: class C-1 (Gluon's CTCLoss) or class 0 (MXNet's
/// ctc_loss operator, torch's blank=0).
enum class CtcBlank { last, first };

/// Checks CTCLoss's inputs against the spec and reads its labels and lengths.
///
/// `pred_shape` is (N,T,C) or (T,N,C) by `layout`; `label` is (N,L) or (L,N) by
/// `label_layout`, with L <= T. Labels are classes in [0, C-2] padded by -1 for
/// CtcBlank::last, in [1, C-1] padded by 0 for CtcBlank::first; either way they
/// are read as [0, C-2] with the blank C-1 (`first` shifted down by one, which
/// the caller matches by moving pred's class 0 last). Without label lengths a
/// row ends at its first padding value; with them the first label_lengths[n]
/// entries are used. Lengths are optional (null when absent) and of shape (N,).
/// Throws ShapeError (ranks, batch sizes, L > T, C = 0, length shapes) and
/// ValueError (a label that is not a class or not a whole number, a length not a
/// whole number in [0, T] or [0, L]); each message names CTCLoss, the argument and
/// the shapes or the offending value with its index.
template <class T>
CtcAlignment read_ctc_inputs(const Shape& pred_shape, CtcLayout layout, const xt::xarray<T>& label,
                             CtcLabelLayout label_layout, const xt::xarray<T>* pred_lengths,
                             const xt::xarray<T>* label_lengths, CtcBlank blank_at = CtcBlank::last);

}  // namespace xtape
