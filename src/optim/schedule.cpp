// Learning-rate schedules: the rate for step (or epoch) t = 0, 1, 2, ...
#include "xtape/optim/schedule.hpp"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "xtape/errors.hpp"

namespace xtape {

namespace {
void check_step(const char* schedule, std::int64_t t) {
    if (t < 0) throw ValueError(fmt::format("{}: step t must be >= 0, got {}", schedule, t));
}
}  // namespace

StepSchedule::StepSchedule(double base_rate, std::int64_t step_size, double gamma)
    : base_rate_(base_rate), step_size_(step_size), gamma_(gamma) {
    if (!(base_rate > 0)) throw ValueError(fmt::format("StepSchedule: base_rate must be positive, got {}", base_rate));
    if (step_size <= 0) throw ValueError(fmt::format("StepSchedule: step_size must be positive, got {}", step_size));
    if (!(gamma > 0 && gamma <= 1)) throw ValueError(fmt::format("StepSchedule: gamma must lie in (0, 1], got {}", gamma));
}

double StepSchedule::operator()(std::int64_t t) const {
    check_step("StepSchedule", t);
    return base_rate_ * std::pow(gamma_, static_cast<double>(t / step_size_));
}

CosineSchedule::CosineSchedule(double base_rate, std::int64_t total, CosineScheduleOptions options)
    : base_rate_(base_rate), total_(total), options_(options) {
    if (!(base_rate > 0)) {
        throw ValueError(fmt::format("CosineSchedule: base_rate must be positive, got {}", base_rate));
    }
    if (!(options.warmup >= 0 && options.warmup < total)) {
        throw ValueError(fmt::format("CosineSchedule: warmup must lie in [0, total = {}), got {}", total,
                                     options.warmup));
    }
    if (!(options.final_rate >= 0 && options.final_rate <= base_rate)) {
        throw ValueError(fmt::format("CosineSchedule: final_rate must lie in [0, base_rate = {}], got {}", base_rate,
                                     options.final_rate));
    }
}

double CosineSchedule::operator()(std::int64_t t) const {
    check_step("CosineSchedule", t);
    if (t < options_.warmup) return base_rate_ * static_cast<double>(t + 1) / static_cast<double>(options_.warmup);
    if (t >= total_) return options_.final_rate;
    const double progress = static_cast<double>(t - options_.warmup) / static_cast<double>(total_ - options_.warmup);
    return options_.final_rate + (base_rate_ - options_.final_rate) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
}

}  // namespace xtape
