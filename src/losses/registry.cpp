// The registry of losses, in Gluon's documentation order then beyond-gluon.md's, and lookup by name or alias.
#include "xtape/losses/registry.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "loss_infos.hpp"
#include "xtape/errors.hpp"

namespace xtape {

namespace {
bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}
}  // namespace

const std::vector<LossInfo>& loss_registry() {
    // Built once, on first use (thread-safe static initialisation).
    static const std::vector<LossInfo> registry = {
        detail::l2_loss_info(),
        detail::l1_loss_info(),
        detail::sigmoid_bce_loss_info(),
        detail::softmax_cross_entropy_loss_info(),
        detail::kl_div_loss_info(),
        detail::ctc_loss_info(),
        detail::huber_loss_info(),
        detail::hinge_loss_info(),
        detail::squared_hinge_loss_info(),
        detail::logistic_loss_info(),
        detail::triplet_loss_info(),
        detail::poisson_nll_loss_info(),
        detail::cosine_embedding_loss_info(),
        // docs/beyond-gluon.md, in its table's order
        detail::sdml_loss_info(),
        detail::sigmoid_focal_loss_info(),
        detail::gaussian_nll_loss_info(),
        detail::margin_ranking_loss_info(),
    };
    return registry;
}

const LossInfo& find_loss(std::string_view name) {
    const auto& registry = loss_registry();
    for (const auto& info : registry) {
        if (same_name(info.name, name)) return info;
        for (const auto& alias : info.aliases) {
            if (same_name(alias, name)) return info;
        }
    }
    std::string known;
    for (const auto& info : registry) {
        known += (known.empty() ? "" : ", ") + info.name;
        for (const auto& alias : info.aliases) known += ", " + alias;
    }
    throw ValueError(fmt::format("unknown loss '{}' (known: {})", name, known));
}

}  // namespace xtape
