// The registry entry of every loss, each defined in its loss's source file.
#pragma once

#include "xtape/losses/registry.hpp"

namespace xtape::detail {

LossInfo l2_loss_info();
LossInfo l1_loss_info();
LossInfo sigmoid_bce_loss_info();
LossInfo softmax_cross_entropy_loss_info();
LossInfo kl_div_loss_info();
LossInfo ctc_loss_info();
LossInfo huber_loss_info();
LossInfo hinge_loss_info();
LossInfo squared_hinge_loss_info();
LossInfo logistic_loss_info();
LossInfo triplet_loss_info();
LossInfo poisson_nll_loss_info();
LossInfo cosine_embedding_loss_info();
// docs/beyond-gluon.md
LossInfo sdml_loss_info();
LossInfo sigmoid_focal_loss_info();
LossInfo gaussian_nll_loss_info();
LossInfo margin_ranking_loss_info();

}  // namespace xtape::detail
