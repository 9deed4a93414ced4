// The training umbrella header: parameters, layers, optimizers and data helpers.
#pragma once

#include "xtape/data/batches.hpp"
#include "xtape/data/csv.hpp"
#include "xtape/data/random.hpp"
#include "xtape/data/split.hpp"
#include "xtape/data/standardizer.hpp"
#include "xtape/data/take_rows.hpp"
#include "xtape/nn/activation.hpp"
#include "xtape/nn/dense.hpp"
#include "xtape/nn/init.hpp"
#include "xtape/nn/mlp.hpp"
#include "xtape/nn/parameter.hpp"
#include "xtape/nn/serialize.hpp"
#include "xtape/optim/adam.hpp"
#include "xtape/optim/optimizer.hpp"
#include "xtape/optim/sgd.hpp"
