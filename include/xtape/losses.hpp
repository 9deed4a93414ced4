// The umbrella header of the losses: every Gluon loss and the registry.
#pragma once

#include "xtape/losses/cosine_embedding_loss.hpp"
#include "xtape/losses/ctc_loss.hpp"
#include "xtape/losses/hinge_loss.hpp"
#include "xtape/losses/huber_loss.hpp"
#include "xtape/losses/kl_div_loss.hpp"
#include "xtape/losses/l1_loss.hpp"
#include "xtape/losses/l2_loss.hpp"
#include "xtape/losses/logistic_loss.hpp"
#include "xtape/losses/loss.hpp"
#include "xtape/losses/poisson_nll_loss.hpp"
#include "xtape/losses/registry.hpp"
#include "xtape/losses/sigmoid_bce_loss.hpp"
#include "xtape/losses/softmax_cross_entropy_loss.hpp"
#include "xtape/losses/triplet_loss.hpp"
