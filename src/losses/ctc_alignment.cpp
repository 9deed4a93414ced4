// Checking CTCLoss's labels and lengths, and laying out the extended labels the recursions run over.
#include "xtape/losses/ctc_alignment.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xtape/errors.hpp"

namespace xtape {

CtcLayout parse_ctc_layout(std::string_view layout) {
    if (layout == "NTC") return CtcLayout::NTC;
    if (layout == "TNC") return CtcLayout::TNC;
    throw ValueError(fmt::format("CTCLoss: layout '{}' is not one of 'NTC', 'TNC'", layout));
}

CtcLabelLayout parse_ctc_label_layout(std::string_view label_layout) {
    if (label_layout == "NT") return CtcLabelLayout::NT;
    if (label_layout == "TN") return CtcLabelLayout::TN;
    throw ValueError(fmt::format("CTCLoss: label_layout '{}' is not one of 'NT', 'TN'", label_layout));
}

bool CtcAlignment::has_short_samples() const {
    return std::any_of(frame_counts.begin(), frame_counts.end(), [this](std::size_t t) { return t < frames; });
}

std::size_t ctc_min_frames(std::span<const std::int64_t> label) {
    std::size_t repeats = 0;
    for (std::size_t j = 1; j < label.size(); ++j) repeats += label[j] == label[j - 1];
    return label.size() + repeats;
}

CtcAlignment make_ctc_alignment(const std::vector<std::vector<std::int64_t>>& labels,
                                const std::vector<std::size_t>& frame_counts, std::size_t frames,
                                std::size_t classes, CtcLayout layout) {
    CtcAlignment a;
    a.batch = labels.size();
    a.frames = frames;
    a.classes = classes;
    a.layout = layout;
    a.frame_counts = frame_counts;
    std::size_t longest = 0;
    for (const auto& label : labels) longest = std::max(longest, label.size());
    a.states = 2 * longest + 1;
    a.extended.assign(a.batch * a.states, a.blank());
    a.can_skip.assign(a.batch * a.states, 0);
    for (std::size_t n = 0; n < a.batch; ++n) {
        const auto& label = labels[n];
        a.label_lengths.push_back(label.size());
        a.feasible.push_back(ctc_min_frames(label) <= frame_counts[n]);
        std::int64_t* row = &a.extended[n * a.states];
        std::uint8_t* skip = &a.can_skip[n * a.states];
        for (std::size_t j = 0; j < label.size(); ++j) {
            const std::size_t s = 2 * j + 1;  // labels sit at odd states
            row[s] = label[j];
            // Skipping the blank before l_j is allowed unless l_j repeats l_{j-1}.
            skip[s] = j > 0 && label[j] != label[j - 1];
        }
    }
    return a;
}

namespace {

bool is_whole(double v) { return std::isfinite(v) && v == std::floor(v); }

// Reads a length vector of shape (N,) whose entries are whole numbers in [0, hi].
template <class T>
std::vector<std::size_t> read_lengths(const xt::xarray<T>& lengths, std::size_t batch, std::size_t hi,
                                      const char* name, const char* bound_name) {
    if (lengths.dimension() != 1 || lengths.shape()[0] != batch) {
        throw ShapeError(fmt::format("CTCLoss: {} of shape {} must have shape ({},), one length per sample", name,
                                     to_string(lengths.shape()), batch));
    }
    std::vector<std::size_t> out(batch);
    for (std::size_t n = 0; n < batch; ++n) {
        const double v = static_cast<double>(lengths(n));
        if (!is_whole(v) || v < 0 || v > static_cast<double>(hi)) {
            throw ValueError(fmt::format("CTCLoss: {} value {} at [{}] is not a whole number in [0, {}] ({} = {})",
                                         name, v, n, hi, bound_name, hi));
        }
        out[n] = static_cast<std::size_t>(v);
    }
    return out;
}

}  // namespace

template <class T>
CtcAlignment read_ctc_inputs(const Shape& pred_shape, CtcLayout layout, const xt::xarray<T>& label,
                             CtcLabelLayout label_layout, const xt::xarray<T>* pred_lengths,
                             const xt::xarray<T>* label_lengths, CtcBlank blank_at) {
    const bool time_major = layout == CtcLayout::TNC;
    const char* pred_axes = time_major ? "(T, N, C)" : "(N, T, C)";
    if (pred_shape.size() != 3) {
        throw ShapeError(fmt::format("CTCLoss: pred of shape {} must have 3 axes {}", to_string(pred_shape),
                                     pred_axes));
    }
    const std::size_t batch = pred_shape[time_major ? 1 : 0];
    const std::size_t frames = pred_shape[time_major ? 0 : 1];
    const std::size_t classes = pred_shape[2];
    if (classes == 0) {
        throw ShapeError(fmt::format("CTCLoss: pred of shape {} has no channel for the blank (C = 0)",
                                     to_string(pred_shape)));
    }

    const bool label_time_major = label_layout == CtcLabelLayout::TN;
    const char* label_axes = label_time_major ? "(L, N)" : "(N, L)";
    if (label.dimension() != 2) {
        throw ShapeError(fmt::format("CTCLoss: label of shape {} must have 2 axes {}", to_string(label.shape()),
                                     label_axes));
    }
    const std::size_t label_batch = label.shape()[label_time_major ? 1 : 0];
    const std::size_t width = label.shape()[label_time_major ? 0 : 1];
    if (label_batch != batch) {
        throw ShapeError(fmt::format("CTCLoss: label of shape {} {} has {} samples but pred of shape {} {} has {}",
                                     to_string(label.shape()), label_axes, label_batch, to_string(pred_shape),
                                     pred_axes, batch));
    }
    if (width > frames) {
        throw ShapeError(fmt::format("CTCLoss: label of shape {} {} has L = {} positions, more than the T = {} "
                                     "frames of pred of shape {}",
                                     to_string(label.shape()), label_axes, width, frames, to_string(pred_shape)));
    }

    const std::vector<std::size_t> frame_counts =
        pred_lengths ? read_lengths(*pred_lengths, batch, frames, "pred_lengths", "T")
                     : std::vector<std::size_t>(batch, frames);
    std::vector<std::size_t> lengths;
    if (label_lengths) lengths = read_lengths(*label_lengths, batch, width, "label_lengths", "L");

    // The classes a label may name, [lowest, lowest + C - 2], and the blank and padding outside them.
    const bool blank_first = blank_at == CtcBlank::first;
    const std::int64_t lowest = blank_first ? 1 : 0;
    const std::int64_t highest = lowest + static_cast<std::int64_t>(classes) - 2;
    const std::int64_t blank = blank_first ? 0 : static_cast<std::int64_t>(classes) - 1;
    const double padding = blank_first ? 0 : -1;
    std::vector<std::vector<std::int64_t>> labels(batch);
    for (std::size_t n = 0; n < batch; ++n) {
        const std::size_t used = label_lengths ? lengths[n] : width;
        for (std::size_t j = 0; j < used; ++j) {
            const double v = static_cast<double>(label_time_major ? label(j, n) : label(n, j));
            if (!label_lengths && v == padding) break;  // padding ends the row
            if (!is_whole(v) || v < static_cast<double>(lowest) || v > static_cast<double>(highest)) {
                const std::size_t row = label_time_major ? j : n;
                const std::size_t col = label_time_major ? n : j;
                throw ValueError(fmt::format("CTCLoss: label value {} at [{}, {}] is not a class in [{}, {}] "
                                             "(C = {}, the blank is {}{})",
                                             v, row, col, lowest, highest, classes, blank,
                                             label_lengths ? "" : fmt::format("; {} pads", padding)));
            }
            labels[n].push_back(static_cast<std::int64_t>(v) - lowest);
        }
    }
    return make_ctc_alignment(labels, frame_counts, frames, classes, layout);
}

template CtcAlignment read_ctc_inputs(const Shape&, CtcLayout, const xt::xarray<float>&, CtcLabelLayout,
                                      const xt::xarray<float>*, const xt::xarray<float>*, CtcBlank);
template CtcAlignment read_ctc_inputs(const Shape&, CtcLayout, const xt::xarray<double>&, CtcLabelLayout,
                                      const xt::xarray<double>*, const xt::xarray<double>*, CtcBlank);

}  // namespace xtape
